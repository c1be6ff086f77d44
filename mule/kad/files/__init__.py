"""iMule's persistence files, read and written byte-compatibly."""
