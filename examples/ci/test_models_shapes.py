"""Example: shape checks in a project's own pytest suite, with `shapecheck.testing`.

Copy this file into your tests and point MODELS at your model files. It runs in a second or
so per model on CPU: models are built on the meta device, so no weights are allocated and
nothing is computed. From this repository: `pytest examples/ci/test_models_shapes.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch.nn as nn

from shapecheck.testing import assert_finding, assert_no_shape_errors

# This repository's reference models; in your project, e.g. Path(__file__).parent / "../models".
MODELS = Path(__file__).resolve().parents[2] / "models"
MODEL_FILES = sorted(p for p in MODELS.glob("*.py") if not p.name.startswith("_"))


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_every_model_in_the_file_is_free_of_shape_errors(path: Path):
    # Every model the file offers (factories, classes, instances), at its own INPUT_SHAPE.
    assert_no_shape_errors(str(path))


@pytest.mark.parametrize("size", [64, 96, 160])
def test_resnet50_at_other_resolutions(size: int):
    # A residual network can be fine at 224 and break at a size its strides do not divide.
    assert_no_shape_errors(f"{MODELS / 'resnet.py'}:resnet50", f"1,3,{size},{size}")


class DownsampleBlock(nn.Module):
    """A block of your own: stride 2 and twice the channels, with a projection shortcut."""

    def __init__(self, cin: int = 64, cout: int = 128, project: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride=2, bias=False),
                                       nn.BatchNorm2d(cout)) if project else nn.Identity())

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


def test_block_with_projection_is_clean():
    report = assert_no_shape_errors(DownsampleBlock(), (2, 64, 32, 32))
    assert report.output_shapes == [(2, 128, 16, 16)]


def test_block_without_projection_is_caught():
    # The regression test of a bug you fixed once: the identity shortcut is wrong here.
    with pytest.raises(AssertionError, match="SC101 channel_mismatch"):
        assert_no_shape_errors(DownsampleBlock(project=False), (2, 64, 32, 32))


def test_finding_names_the_add_and_the_fix():
    import shapecheck

    report = shapecheck.check(DownsampleBlock(project=False), (2, 64, 32, 32))
    finding = assert_finding(report, kind="channel_mismatch", module="")
    assert finding.shapes == ((2, 128, 16, 16), (2, 64, 32, 32))
    assert finding.fix is not None and finding.fix.stride == 2
