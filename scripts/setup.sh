#!/usr/bin/env bash
# Set up sceneprior in ./.venv (idempotent). Usage: bash scripts/setup.sh [--dev]
#   --dev  also installs the test tools.
# torch: if the venv has none, a local CPU wheel of torch 2.13.0 is used where pip can find one
# (e.g. a wheel directory in PIP_FIND_LINKS); otherwise pip installs the newest torch>=2.1 from your
# index. To choose a build yourself (CUDA, another version), install torch into .venv first.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    *) echo "usage: bash scripts/setup.sh [--dev]" >&2; exit 2 ;;
  esac
done
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip() { .venv/bin/python -m pip "$@"; }
export PIP_DISABLE_PIP_VERSION_CHECK=1
if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  local_wheel=""
  for dir in ${PIP_FIND_LINKS:-} /opt/wheels; do
    [ -d "$dir" ] || continue
    local_wheel=$(ls "$dir"/torch-2.13.0+cpu-*.whl 2>/dev/null | head -n 1 || true)
    [ -n "$local_wheel" ] && break
  done
  if [ -n "$local_wheel" ]; then
    echo "setup: installing torch from local wheel $local_wheel"
    pip install -q "$local_wheel"
  else
    echo "setup: installing torch>=2.1 from your package index"
    pip install -q "torch>=2.1"
  fi
fi
if [ "$dev" = 1 ]; then extras=".[dev]"; else extras="."; fi
# skip the (slow) editable re-install when nothing changed since the last one
stamp=".venv/.sceneprior-setup-$dev"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  pip install -q -e "$extras" 2>&1 | grep -v -E "^(WARNING: Location|  )" || true
  .venv/bin/python -c "import sceneprior" && touch "$stamp"
fi
echo "setup: ready (.venv/bin/sceneprior)"
