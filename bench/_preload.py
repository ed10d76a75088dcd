"""Imported once by the zoo's fork server so that every worker forks with torch, timm and
shapecheck already loaded (timm needs shapecheck's torchvision shim before its import)."""

from bench.zoo import _worker_setup

_worker_setup()
