"""``python -m shape_lsp.verifier.agent``: read the request on stdin, write the report."""

from __future__ import annotations

from . import main

raise SystemExit(main())
