"""The Keras ResNeXt blocks of `keras_resnext.py` misused: when `conv_shortcut=False` does break.

The 365天深度学习训练营 J6/J7 ResNeXt homework and its two answer pages ask why the identity
shortcut "with different channel counts" raises no error. In the seed's own `stack()` it never has different channel counts: the first
block projects. These networks build the stacks differently, and the identity shortcut
then meets a main branch of another shape. Each residual add fails (or silently
broadcasts) at the line `x = x + shortcut` in `keras_resnext.py` (`Block.forward`).

- `build()`: two independent bugs in one ResNeXt-50, so a checker must report both in one
  pass (a real run stops at the first):
  (a) stack2 is built by `stack_without_projection()`, whose first block keeps the identity
      shortcut while it doubles the width and halves the size: at `stack2.0` the add gets
      [1, 512, 28, 28] (main) + [1, 256, 56, 56] (shortcut), a channel mismatch. The first
      answer page claims the add pads the smaller tensor; it raises instead.
  (b) stack4 gets an extra stride-2 block appended to shrink the final map; its width is
      unchanged, so the author kept the identity shortcut: at `stack4.3` the add gets
      [1, 2048, 4, 4] + [1, 2048, 7, 7], a spatial mismatch.
- `build_first_block_identity()`: bug (a) alone.
- `build_stride2_identity()`: bug (b) alone.
- `build_tiny_stride2_identity()`: a small net where bug (b) sits on a 2x2 map. The add is
  [1, 16, 1, 1] + [1, 16, 2, 2] and broadcasts to [1, 16, 2, 2] without any error (eager
  mode misses it); at any larger input it fails. Run it in eval mode: BatchNorm in training
  mode rejects a batch of one 1x1 map.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from torch import nn

try:
    # shapecheck (and the examples' tests) import this file with its folder on sys.path.
    from keras_resnext import RESNEXT50_STACKS, Block, ResNeXtNet, resnext_stacks, stack
except ModuleNotFoundError as exc:
    if exc.name != "keras_resnext":
        raise
    # Imported some other way: load the sibling file by path, whatever the working directory.
    _spec = importlib.util.spec_from_file_location(
        "keras_resnext", Path(__file__).resolve().with_name("keras_resnext.py"))
    _base = importlib.util.module_from_spec(_spec)
    sys.modules["keras_resnext"] = _base
    _spec.loader.exec_module(_base)
    RESNEXT50_STACKS, Block, ResNeXtNet = _base.RESNEXT50_STACKS, _base.Block, _base.ResNeXtNet
    resnext_stacks, stack = _base.resnext_stacks, _base.stack

INPUT_SHAPE = (1, 3, 224, 224)
# Per-factory inputs; the tiny net needs its 8x8 input for the map to be 2x2 at the bad block.
INPUT_SHAPES = {
    "build": INPUT_SHAPE,
    "build_first_block_identity": INPUT_SHAPE,
    "build_stride2_identity": INPUT_SHAPE,
    "build_tiny_stride2_identity": (1, 3, 8, 8),
}


def stack_without_projection(in_channels: int, filters: int, blocks: int, strides: int,
                             groups: int = 32) -> nn.Sequential:
    """`stack()` "simplified" on the first answer page's belief that `Add` pads: no projection anywhere.

    Bug: the first block changes the width (and the size, when `strides` > 1) but adds its
    input unchanged.
    """
    layers = [Block(in_channels, filters, strides=strides, groups=groups, conv_shortcut=False)]
    for _ in range(blocks):
        layers.append(Block(filters * 2, filters, groups=groups, conv_shortcut=False))
    return nn.Sequential(*layers)


def with_stride2_identity_block(s: nn.Sequential, groups: int = 32) -> nn.Sequential:
    """Append a stride-2 block to stack `s` that keeps the width and (bug) the identity shortcut."""
    filters = s[-1].out_channels // 2
    s.append(Block(filters * 2, filters, strides=2, groups=groups, conv_shortcut=False))
    return s


def _resnext50(first_block_identity: bool, stride2_identity: bool) -> nn.Module:
    """ResNeXt-50 32x4d as in `keras_resnext.build()`, with bug (a) and/or bug (b)."""
    stacks = resnext_stacks(RESNEXT50_STACKS)
    if first_block_identity:
        filters, blocks, strides = RESNEXT50_STACKS[1]
        stacks[1] = stack_without_projection(stacks[0][-1].out_channels, filters, blocks, strides)
    if stride2_identity:
        stacks[3] = with_stride2_identity_block(stacks[3])
    return ResNeXtNet(stacks)


def build() -> nn.Module:
    """Both bugs: channel mismatch at `stack2.0`, spatial mismatch at `stack4.3`."""
    return _resnext50(first_block_identity=True, stride2_identity=True)


def build_first_block_identity() -> nn.Module:
    """Bug (a) alone: stack2's first block has no projection (channel mismatch at `stack2.0`)."""
    return _resnext50(first_block_identity=True, stride2_identity=False)


def build_stride2_identity() -> nn.Module:
    """Bug (b) alone: a stride-2 identity block at `stack4.3` (spatial mismatch)."""
    return _resnext50(first_block_identity=False, stride2_identity=True)


def build_tiny_stride2_identity() -> nn.Module:
    """Bug (b) on a 2x2 map (input 8x8): `stack2.0` adds [1,16,1,1] + [1,16,2,2] silently."""
    stacks = [stack(16, 8, 1, 1, groups=4)]  # 16 -> 16 channels at 2x2, correct
    # Bug: stride 2, same width, identity shortcut; the 2x2 map halves to 1x1 and broadcasts.
    stacks.append(nn.Sequential(Block(16, 8, strides=2, groups=4, conv_shortcut=False)))
    return ResNeXtNet(stacks, stem_channels=16, num_classes=10)
