#!/usr/bin/env bash
# Editor integration checks, called from .ci/run once the venv exists:
#   PY=/path/to/venv/bin/python editors/ci.sh
# 1. Neovim: real headless nvim (Debian's package) + the real server (tests/editors, pytest).
# 2. VS Code: npm ci, vitest, vsce package, and the .vsix contents.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
PY="${PY:-$repo/.venv/bin/python}"
export PY
start=$SECONDS
log() { printf '\n== editors/ci.sh [%ss] %s\n' "$((SECONDS - start))" "$*"; }

"$PY" -c "import shape_lsp" || { echo "PY=$PY cannot import shape_lsp" >&2; exit 1; }

log "editors: neovim (required), emacs + eglot (SHAPE_LSP_CI_EMACS=0 to skip)"
want=()
command -v nvim >/dev/null 2>&1 || want+=(neovim)
has_eglot() {
  emacs -Q --batch --eval '(progn (dolist (d (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
    (add-to-list (quote load-path) d)) (kill-emacs (if (locate-library "eglot") 0 1)))' >/dev/null 2>&1
}
if [ "${SHAPE_LSP_CI_EMACS:-1}" = 1 ]; then
  command -v emacs >/dev/null 2>&1 || want+=(emacs-nox)
  { command -v emacs >/dev/null 2>&1 && has_eglot; } || want+=(elpa-eglot)
fi
if [ "${#want[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
  else
    echo "missing ${want[*]} and cannot install here (not root or no apt-get)" >&2
    exit 1
  fi
fi
nvim --version | head -1
command -v emacs >/dev/null 2>&1 && emacs --version | head -1

log "headless nvim + emacs/eglot e2e against the real server (tests/editors)"
# The only place these run: tests/editors/conftest.py skips them unless this is set.
SHAPE_LSP_EDITOR_TESTS=1 "$PY" -m pytest "$repo/tests/editors" -q -p no:cacheprovider -o addopts=-ra

log "vscode: npm ci"
cd "$here/vscode"
npm ci --no-audit --no-fund --loglevel=error

log "vscode: typecheck + vitest"
npm run --silent typecheck
npm test --silent

log "vscode: vsce package"
rm -f shape-lsp.vsix
npm run --silent package
listing="$(unzip -l shape-lsp.vsix)"
echo "$listing"
for f in extension/dist/extension.js extension/package.json; do
  grep -q " $f\$" <<<"$listing" || { echo "missing from the vsix: $f" >&2; exit 1; }
done
node test/bundle-smoke.cjs

log "done"
