"""`python -m shape_lsp.server` runs the language server (same options as `shape-lsp serve`)."""

import sys

from shape_lsp.server.main import main

raise SystemExit(main(sys.argv[1:]))
