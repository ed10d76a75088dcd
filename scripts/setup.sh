#!/usr/bin/env bash
# Idempotent set-up: a virtual environment with torch's CPU build, the project, its test
# tools, torchvision/timm for the third-party model tests, and Graphviz's `dot` if it can be
# installed (with `bench`: the benchmarks' tools too). Safe to run again: finished steps are
# skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.shapecheck-setup

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ scripts/setup.sh -nt "$STAMP" ]; then
  # torch first, pinned: an unpinned torch resolves to a multi-GB CUDA build
  if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "setup: installing torch==2.13.0 (CPU build)"
    $PIP install torch==2.13.0
  fi
  echo "setup: installing shapecheck and its test tools"
  $PIP install -e ".[test,notebook]" pytest-xdist
  # torchvision/timm are pinned to releases matching torch 2.13 and installed without their
  # dependencies, so they can never replace torch; their own light needs are listed here.
  if ! "$VENV/bin/python" -c "import importlib.util as u; assert u.find_spec('torchvision') and u.find_spec('timm')" 2>/dev/null; then
    echo "setup: installing torchvision==0.28.0 and timm==1.0.31 (for third-party model tests)"
    $PIP install --no-deps torchvision==0.28.0 timm==1.0.31 \
      || echo "setup: torchvision/timm unavailable; their tests will be skipped"
    $PIP install numpy pillow pyyaml huggingface_hub safetensors || true
  fi
  # Keras 3 on the torch backend (`shapecheck` reads Keras models natively); its pins
  # never name torch, so pip keeps the CPU build
  if ! "$VENV/bin/python" -c "import importlib.util as u; assert u.find_spec('keras')" 2>/dev/null; then
    echo "setup: installing keras==3.15.1 (for Keras models, torch backend)"
    $PIP install -e ".[keras]" || echo "setup: keras unavailable; its tests will be skipped"
  fi
  "$VENV/bin/python" - <<'PY'
import torch
if torch.version.cuda is not None and not torch.cuda.is_available():
    print(f"setup: warning: torch {torch.__version__} is a CUDA build on a machine without CUDA")
PY
  touch "$STAMP"
fi

# `scripts/setup.sh bench`: also the tools the benchmarks compare against
if [ "${1:-}" = "bench" ] && ! "$VENV/bin/python" -c "import torchinfo, torchview, matplotlib" 2>/dev/null; then
  echo "setup: installing the benchmark tools (torchinfo, torchview, matplotlib)"
  $PIP install -e ".[bench]"
fi

# the HTML report's browser tests: Playwright driving Debian's chromium (never Playwright's
# own browser download), and a CJK font so the page's Chinese words render
if ! "$VENV/bin/python" -c "import playwright" 2>/dev/null; then
  echo "setup: installing the HTML report's browser-test tools (playwright)"
  $PIP install -e ".[html-test]" || echo "setup: playwright unavailable; browser tests will be skipped"
fi
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing chromium for the HTML report's browser tests"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
       fonts-wqy-microhei >/dev/null) \
      || echo "setup: chromium could not be installed; browser tests will be skipped"
  else
    echo "setup: chromium is not installed; the HTML report's browser tests will be skipped" \
         "(install it with your package manager, e.g. 'apt-get install chromium')"
  fi
fi

if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Graphviz (apt-get install graphviz)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
      || echo "setup: Graphviz could not be installed; graphs will be written as .dot files"
  else
    echo "setup: Graphviz's dot is not installed; graphs will be written as .dot files" \
         "(install it with your package manager, e.g. 'apt-get install graphviz')"
  fi
fi
