"""Benchmarks for shapecheck: speed, memory, zoo coverage and mutation recall.

Run everything with ``bench/run.sh quick`` (a few minutes) or ``bench/run.sh full``
(adds the whole torchvision + timm zoo); each part also runs alone, e.g.
``python -m bench.speed --quick``. Results land in ``bench/results/``.
"""
