#!/usr/bin/env bash
# Headless Neovim end-to-end check against the real server; prints the JSON results.
# Usage: editors/nvim/test/run.sh [python] [fixture] [out.json]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
py="${1:-${PY:-$repo/.venv/bin/python}}"
fixture="${2:-$repo/tests/editors/fixtures/missing_flatten.py}"
out="${3:-$(mktemp -t shape-nvim.XXXXXX.json)}"
SHAPE_LSP_PY="$py" SHAPE_LSP_FIXTURE="$fixture" SHAPE_LSP_OUT="$out" \
  timeout 300 nvim --headless -u NONE -i NONE -n \
  --cmd "set rtp^=$repo/editors/nvim" -c "luafile $here/headless.lua"
cat "$out"
echo
