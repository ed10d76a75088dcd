"""shapecheck: find shape bugs in residual networks before they run.

    >>> import torch, shapecheck
    >>> report = shapecheck.check(torch.nn.Conv2d(3, 8, 3), (1, 3, 32, 32))
    >>> report.ok
    True
"""

from shapecheck import _moved
from shapecheck.report import (Block, Confirmation, Finding, Fix, Location, NodeInfo, Report,
                               ResidualAdd, TargetError)

__version__ = "0.1.0"

_moved.install()  # old module paths (shapecheck.trace, ...) for one release

__all__ = ["check", "Report", "Finding", "Fix", "Location", "ResidualAdd", "Block", "NodeInfo",
           "TargetError", "Confirmation", "__version__"]


def check(model, inputs=None, **options) -> Report:
    """Analyse `model` for the example `inputs`; see `shapecheck.api.check`."""
    from shapecheck.api import check as _check

    return _check(model, inputs, **options)
