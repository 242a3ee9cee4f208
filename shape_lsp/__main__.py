"""`python -m shape_lsp` runs the CLI."""

from shape_lsp.cli import main

raise SystemExit(main())
