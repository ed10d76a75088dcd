#!/usr/bin/env bash
# The main job: check the seed's buggy Keras-style ResNeXt port and draw its block graph.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 2
mkdir -p out
.venv/bin/shapecheck examples/keras_resnext_buggy.py:build --graph out/keras_resnext_buggy.svg "$@"
status=$?
# exit 1 means "findings of severity error": exactly what this buggy port should produce
if [ "$status" -le 1 ]; then exit 0; fi
exit "$status"
