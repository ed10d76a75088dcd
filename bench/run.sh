#!/usr/bin/env bash
# Run shapecheck's benchmarks: `bench/run.sh quick` (a few minutes) or `bench/run.sh full`
# (adds the whole torchvision + timm zoo). One part alone: `bench/run.sh zoo --sample 100`.
# Results go to bench/results/. Uses the project venv when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (prefer below ~1.5 for timings)" >&2
exec "$PY" -m bench "${@:-quick}"
