from __future__ import annotations

from mule.cli import main

raise SystemExit(main())
