#!/usr/bin/env bash
# Records what a user sees: Neovim (TUI, in tmux) with the plugin on the fixture, a diagnostic and
# a hover float. Prints the captured screen. Usage: editors/nvim/test/capture.sh [python]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
py="${1:-${PY:-$repo/.venv/bin/python}}"
fixture="$repo/tests/editors/fixtures/missing_flatten.py"
init="$(mktemp -t shape-init.XXXXXX.lua)"
sock="shape-capture-$$"
cat >"$init" <<LUA
vim.opt.rtp:prepend("$repo/editors/nvim")
vim.cmd("filetype on | syntax on")
vim.o.number = true
vim.o.signcolumn = "yes"
vim.lsp.handlers["textDocument/hover"] = vim.lsp.with(vim.lsp.handlers.hover, { border = "rounded" })
require("shape_lsp").setup({ cmd = { "$py", "-m", "shape_lsp", "serve" } })
LUA
tmux -L "$sock" new-session -d -x 110 -y 34 "nvim -u $init -i NONE -n $fixture"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -f "$init"' EXIT
sleep "${SHAPE_CAPTURE_WAIT:-6}"
# 1. Hover: cursor on `x` of `x = self.features(x)` (line 14).
tmux -L "$sock" send-keys ":14" Enter "w" ":lua vim.lsp.buf.hover()" Enter
sleep 2
echo "--- hover on x (line 14) ---"
tmux -L "$sock" capture-pane -p -t 0 | sed -e 's/[[:space:]]*$//' | sed -n '1,24p'
# 2. The diagnostic on `return self.head(x)` (line 15), in full.
tmux -L "$sock" send-keys Escape ":15" Enter "w" ":lua vim.diagnostic.open_float({ border = 'rounded' })" Enter
sleep 2
echo "--- diagnostic on line 15 ---"
tmux -L "$sock" capture-pane -p -t 0 | sed -e 's/[[:space:]]*$//' | sed -n '1,26p'
