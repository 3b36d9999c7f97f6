#!/usr/bin/env bash
# Create .venv and install the SDK with its exact pinned dependencies, then every distribution in contrib/:
# the example plugins and the synthetic testbed, which brings `unireward demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# constraints.txt pins every package (torch 2.14.1 + torchvision 0.29.1 ...); pyproject keeps loose ranges.
.venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'
# the SDK first: every contrib distribution depends on it and must find it installed, not fetch it
for pkg in contrib/*/; do
  [ -f "$pkg/pyproject.toml" ] && .venv/bin/python -m pip install -q -c constraints.txt -e "$pkg"
done
echo "unireward-sdk installed in .venv ($(.venv/bin/python -c 'import unireward_sdk; print(unireward_sdk.__version__)'))"
