"""The engine on the reference models, the seed ports and third-party models."""

from __future__ import annotations

import sys

import pytest
import torch

import shapecheck
from shapecheck.load.thirdparty import import_timm, import_torchvision

from conftest import ROOT, build_meta, line_of

KERAS_ADD = ("examples/keras_resnext.py", "x = x + shortcut  # the residual add")


def _models():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import models

    return models


FAST_MODELS = ["resnet18", "resnet50", "preact_resnet18", "d2l_resnet18", "resnet152"]
SLOW_MODELS = ["resnet34", "resnet101", "resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2"]
EXPECTED_ADDS = {"resnet18": 8, "resnet34": 16, "resnet50": 16, "resnet101": 33, "resnet152": 50,
                 "resnext50_32x4d": 16, "resnext101_32x8d": 33, "wide_resnet50_2": 16,
                 "preact_resnet18": 8, "d2l_resnet18": 8}


def _check_reference(name: str):
    models = _models()
    report = shapecheck.check(build_meta(models.MODELS[name]), models.INPUT_SHAPES[name])
    assert report.error is None and report.findings == []
    assert len(report.residual_adds) == EXPECTED_ADDS[name]
    assert all(a.ok and a.shapes[0] == a.shapes[1] for a in report.residual_adds)
    return report


@pytest.mark.parametrize("name", FAST_MODELS)
def test_reference_models_are_clean(name):
    report = _check_reference(name)
    assert report.tracer == "fx"


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW_MODELS)
def test_reference_models_are_clean_slow(name):
    _check_reference(name)


def test_resnet50_shortcut_kinds_and_block_facts():
    report = _check_reference("resnet50")
    kinds = [a.shortcut for a in report.residual_adds]
    assert kinds.count("projection") == 4 and kinds.count("identity") == 12
    assert sum(b.params for b in report.blocks) < report.parameters
    assert report.blocks[0].module == "layer1.0" and report.blocks[0].input_shape == (1, 64, 56, 56)
    assert report.blocks[-1].output_shape == (1, 2048, 7, 7)


def test_keras_resnext_used_as_in_the_seed_is_clean(example):
    # the homework's real answer: the first block of each stack projects to filters*2
    model, shape = example("keras_resnext", "build")
    report = shapecheck.check(model, shape)
    assert report.tracer == "record"  # zip over torch.chunk defeats torch.fx
    assert report.findings == [] and report.output_shapes == [(1, 1000)]
    assert len(report.residual_adds) == 16  # 3+4+6+3: range(blocks) builds blocks + 1
    assert all(a.shapes[0] == a.shapes[1] for a in report.residual_adds)
    firsts = [a for a in report.residual_adds if a.module.endswith(".0")]
    assert [a.shortcut for a in firsts] == ["projection"] * 4


def test_keras_buggy_port_two_bugs_in_one_pass(example):
    model, shape = example("keras_resnext_buggy", "build")
    report = shapecheck.check(model, shape)
    line = line_of(*KERAS_ADD)
    got = [(f.kind, f.module, f.location.path, f.location.line, f.shapes,
            (f.fix.in_channels, f.fix.out_channels, f.fix.stride, f.fix.verified))
           for f in report.findings]
    assert got == [
        ("channel_mismatch", "stack2.0", "examples/keras_resnext.py", line,
         ((1, 512, 28, 28), (1, 256, 56, 56)), (256, 512, 2, True)),
        ("spatial_mismatch", "stack4.3", "examples/keras_resnext.py", line,
         ((1, 2048, 4, 4), (1, 2048, 7, 7)), (2048, 2048, 2, True)),
    ]
    assert report.output_shapes == [(1, 1000)]


def test_keras_tiny_stride2_identity_broadcasts_silently(example):
    model, shape = example("keras_resnext_buggy", "build_tiny_stride2_identity")
    [finding] = shapecheck.check(model, shape).findings
    assert finding.kind == "spatial_mismatch" and finding.shapes[0][2:] == (1, 1)
    assert finding.shapes[1][2:] == (2, 2) and finding.fix.verified


def test_interview_resnet_misplaced_first_block(example):
    model, shape = example("interview_resnet", "resnet18_misplaced_first_block")
    report = shapecheck.check(model, shape)
    add_line = line_of("examples/interview_resnet.py", "        Y += X")
    assert [(f.kind, f.module) for f in report.findings] == [
        ("layer_mismatch", "b3.0.conv1"), ("channel_mismatch", "b3.0")]
    assert report.findings[1].location.line == add_line
    fix = report.findings[1].fix
    assert (fix.in_channels, fix.out_channels, fix.stride, fix.verified) == (64, 128, 1, True)
    correct, shape = example("interview_resnet", "resnet18")
    assert shapecheck.check(correct, shape).ok


def test_cifar_resnext_equal_width_stride2(example):
    model, shape = example("cifar_resnext", "cifar_resnext_equal_width_stride2")
    report = shapecheck.check(model, shape)
    [finding] = report.findings
    assert finding.kind == "spatial_mismatch"
    assert finding.location.line == line_of("examples/cifar_resnext.py", "        out = residual + bottleneck")
    # the shortcut is the FIRST operand there; shapes are still reported as [main, shortcut]
    assert finding.shapes == ((1, 256, 16, 16), (1, 256, 32, 32))
    assert (finding.fix.in_channels, finding.fix.out_channels, finding.fix.stride) == (256, 256, 2)
    correct, shape = example("cifar_resnext", "cifar_resnext29")
    assert shapecheck.check(correct, shape).ok


@pytest.mark.parametrize("factory,ok", [("residual_keep", True), ("residual_downsample", True),
                                        ("resnext_block", True),
                                        ("residual_stride2_no_projection", False)])
def test_d2l_lazy_blocks(example, factory, ok):
    model, shape = example("d2l_resnext", factory)
    report = shapecheck.check(model, shape)
    assert report.ok is ok
    if not ok:
        [finding] = report.findings
        assert finding.kind == "spatial_mismatch"
        assert finding.location.line == line_of("examples/d2l_resnext.py", "        Y += X")


# -- third-party models -----------------------------------------------------------------

tv = import_torchvision()
needs_tv = pytest.mark.skipif(tv is None, reason="torchvision is not installed")


@needs_tv
@pytest.mark.parametrize("name,adds", [("resnet18", 8), ("resnext50_32x4d", 16),
                                       ("wide_resnet50_2", 16), ("vit_b_16", 24)])
def test_torchvision_models(name, adds):
    report = shapecheck.check(build_meta(getattr(tv.models, name)), (1, 3, 224, 224))
    assert report.ok and len(report.residual_adds) == adds
    assert report.parameters == sum(p.numel() for p in build_meta(getattr(tv.models, name)).parameters())


@needs_tv
@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet34", "resnet101", "resnet152", "resnext101_32x8d",
                                  "resnext101_64x4d", "wide_resnet101_2", "convnext_tiny",
                                  "mobilenet_v2", "regnet_y_400mf", "efficientnet_b0", "swin_t"])
def test_torchvision_models_slow(name):
    from shapecheck.load.build import build_model  # regnets need the empty-init fallback

    assert shapecheck.check(build_model(getattr(tv.models, name)), (1, 3, 224, 224)).ok


@pytest.mark.slow
@pytest.mark.parametrize("name", ["gcresnet33ts", "gcresnet50t", "resnetv2_50d_evos",
                                  "regnetz_b16_evos", "resnetv2_50d_frn", "ese_vovnet39b_evos",
                                  "samvit_base_patch16"])
def test_timm_models_with_broadcast_by_design_have_no_errors(name):
    timm = import_timm()
    if timm is None:
        pytest.skip("timm is not installed")
    with torch.device("meta"):
        model = timm.create_model(name)
    size = model.pretrained_cfg.get("input_size", (3, 224, 224))
    report = shapecheck.check(model, (1, *size))
    assert report.errors == [], [(f.kind, f.module, f.shapes) for f in report.errors]
