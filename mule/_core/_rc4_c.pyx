# cython: language_level=3
"""RC4 and iMule's MD5-keyed RC4 (Kad datagram obfuscation): the compiled twin of ``_rc4_py``.

The key schedule and the stream run in C, so a datagram costs one MD5 and 256 swaps instead of
a cipher object; ``rc4_md5_magic`` stops after four bytes when the magic does not match.
"""

from libc.stdint cimport uint8_t, uint32_t
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize

from hashlib import md5 as _md5

KEY_SIZES = frozenset({5, 7, 8, 10, 16, 20, 24, 32})
cdef enum:
    _MAGIC_BYTES = 4


cdef struct _State:
    uint8_t s[256]
    uint8_t i
    uint8_t j


cdef void _schedule(_State* state, const unsigned char* key, Py_ssize_t length) noexcept nogil:
    cdef int n
    cdef uint8_t j = 0, t
    for n in range(256):
        state.s[n] = n
    for n in range(256):
        j = j + state.s[n] + key[n % length]
        t = state.s[n]
        state.s[n] = state.s[j]
        state.s[j] = t
    state.i = 0
    state.j = 0


cdef void _crypt(_State* state, const unsigned char* source, unsigned char* target, Py_ssize_t length) noexcept nogil:
    cdef Py_ssize_t n
    cdef uint8_t i = state.i, j = state.j, t
    for n in range(length):
        i = i + 1
        j = j + state.s[i]
        t = state.s[i]
        state.s[i] = state.s[j]
        state.s[j] = t
        target[n] = source[n] ^ state.s[<uint8_t>(state.s[i] + t)]
    state.i = i
    state.j = j


cdef bytes _run(bytes key, const unsigned char[::1] data, Py_ssize_t start):
    cdef _State state
    cdef Py_ssize_t length = data.shape[0] - start if data.shape[0] > start else 0
    cdef bytes out = PyBytes_FromStringAndSize(NULL, length)
    _schedule(&state, <const unsigned char*>PyBytes_AS_STRING(key), len(key))
    if length:
        _crypt(&state, &data[start], <unsigned char*>PyBytes_AS_STRING(out), length)
    return out


def rc4(key, data):
    """``data`` XOR the RC4 keystream of ``key`` (one of ``KEY_SIZES`` bytes; no keystream bytes dropped)."""
    key = bytes(key)
    if len(key) not in KEY_SIZES:
        raise ValueError(f"an RC4 key has one of {sorted(KEY_SIZES)} bytes, not {len(key)}")
    return _run(key, bytes(data), 0)


def rc4_md5(key_data, data):
    """``data`` under RC4 keyed by the MD5 of ``key_data`` (iMule's obfuscation key)."""
    return _run(_md5(key_data).digest(), bytes(data), 0)


def rc4_md5_magic(key_data, data, Py_ssize_t start, uint32_t magic):
    """``data[start:]`` decrypted under RC4 keyed by the MD5 of ``key_data`` if its first four plain bytes are
    ``magic`` (little-endian), else None, having decrypted only those four."""
    cdef const unsigned char[::1] view = bytes(data)
    cdef _State state
    cdef unsigned char head[_MAGIC_BYTES]
    cdef Py_ssize_t length
    cdef bytes key, out
    if start < 0 or view.shape[0] - start < _MAGIC_BYTES:
        return None
    key = _md5(key_data).digest()
    _schedule(&state, <const unsigned char*>PyBytes_AS_STRING(key), 16)
    _crypt(&state, &view[start], head, _MAGIC_BYTES)
    if (head[0] | (<uint32_t>head[1] << 8) | (<uint32_t>head[2] << 16) | (<uint32_t>head[3] << 24)) != magic:
        return None
    length = view.shape[0] - start
    out = PyBytes_FromStringAndSize(NULL, length)
    memcpy(PyBytes_AS_STRING(out), head, _MAGIC_BYTES)
    if length > _MAGIC_BYTES:
        _crypt(&state, &view[start + _MAGIC_BYTES], <unsigned char*>PyBytes_AS_STRING(out) + _MAGIC_BYTES,
               length - _MAGIC_BYTES)
    return out
