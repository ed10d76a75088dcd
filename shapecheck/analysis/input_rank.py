"""An input of the wrong rank for the first convolution: which dimension looks missing.

`--input 1,3,224` for a Conv2d model is one dimension short. PyTorch reads three
dimensions as one unbatched C,H,W image, so its own error ("expected 1 channel") points
away from the slip; when the channels sit where a batched input has them, the likelier
reading is N,C,H with W missing, and the hint says so, with the shape to pass.
"""

from __future__ import annotations

from typing import Optional

import torch.nn as nn

from shapecheck.messages import text
from shapecheck.report import Shape, format_shape

_SPATIAL = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def rank_hint(module: Optional[nn.Module], shape: Optional[Shape],
              lang: Optional[str] = None) -> Optional[str]:
    """The sentence to add when `shape` has the wrong rank for the convolution `module`.

    Example:
        >>> conv = nn.Conv2d(3, 8, 3)
        >>> rank_hint(conv, (1, 3, 224), "en")  # doctest: +NORMALIZE_WHITESPACE
        '1x3x224 looks like N,C,H: W is missing (--input 1,3,224,224); PyTorch reads 3
         dimensions as one unbatched C,H,W image instead'
        >>> rank_hint(conv, (224, 224), "en")  # doctest: +NORMALIZE_WHITESPACE
        'Conv2d takes N,C,H,W (or one unbatched C,H,W image) with 3 channels, and 224x224
         has 2 dimensions: a dimension looks missing (e.g. --input 2,3,224,224)'
        >>> rank_hint(conv, (2, 3, 224, 224), "en") is None
        True
    """
    if not isinstance(module, nn.modules.conv._ConvNd) or shape is None:
        return None
    spatial = _SPATIAL.get(len(module.kernel_size))
    if spatial is None:
        return None
    batched, unbatched = ("N", "C") + spatial, ("C",) + spatial
    rank, channels = len(shape), module.in_channels
    if rank == len(batched):
        return None
    values = dict(shape=format_shape(shape), rank=rank, batched=",".join(batched),
                  unbatched=",".join(unbatched), layer=type(module).__name__, c=channels)
    if rank == len(unbatched) and shape[1] == channels:
        suggested = tuple(shape) + (shape[-1],)
        return text("input.missing_axis", lang, reading=",".join(batched[:-1]),
                    missing=batched[-1], suggest=",".join(map(str, suggested)), **values)
    # one short but no channels at dim 1: an unbatched image with the wrong channels, as
    # likely as a missing dimension; the channel message alone says it
    if rank < len(unbatched):
        sizes = tuple(shape[-len(spatial):]) if rank >= len(spatial) else (224,) * len(spatial)
        example = ",".join(map(str, (2, channels) + sizes))
        return text("input.rank_short", lang, example=example, **values)
    if rank > len(batched):
        return text("input.rank_long", lang, extra=rank - len(batched), **values)
    return None


__all__ = ["rank_hint"]
