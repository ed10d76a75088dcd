"""`--confirm` on CUDA: the same verdicts as on the CPU, a named device, real peak memory,
an out-of-memory run turned into advice, and a full-size ResNet-50 agreeing node by node.

Skipped as a whole where CUDA is absent; runs as-is on any CUDA machine
(`pytest -m gpu tests/test_confirm_gpu.py`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

if not torch.cuda.is_available():
    pytest.skip("needs CUDA", allow_module_level=True)

HERE = Path(__file__).resolve().parent
for path in (HERE, HERE.parent):  # the CPU test's models and helpers; models/ at the root
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import shapecheck  # noqa: E402
from shapecheck.confirm import confirm_report  # noqa: E402
from test_confirm import (IMAGE, Net, events, expect_correct, expect_silent_broadcast,  # noqa: E402
                          expect_single_bug, expect_two_bugs, known_nodes)

pytestmark = pytest.mark.gpu


def test_correct_model_on_cuda():
    expect_correct("cuda")


def test_single_bug_on_cuda():
    expect_single_bug("cuda")


def test_two_bugs_on_cuda():
    expect_two_bugs("cuda")


def test_silent_broadcast_on_cuda():
    expect_silent_broadcast("cuda")


def test_auto_picks_cuda_and_names_it_with_peak_memory():
    report = shapecheck.check(Net(bugs=(2,)), IMAGE)
    conf = confirm_report(report, device="auto", backward=True)
    index = torch.cuda.current_device()
    assert conf.device == f"cuda:{index} ({torch.cuda.get_device_name(index)})"
    assert conf.peak_memory_bytes is not None and conf.peak_memory_bytes > 0
    assert (conf.errors_confirmed, conf.fixes_confirmed, conf.error) == (1, 1, None)
    assert events(conf, "backward")[0]["ok"]


def test_factory_builds_on_the_device():
    report = shapecheck.check(Net(bugs=(2, 3)), IMAGE)
    conf = confirm_report(report, lambda: Net(bugs=(2, 3)), device="cuda")
    assert (conf.errors_confirmed, conf.fixes_confirmed, conf.error) == (2, 2, None)
    assert events(conf, "build")[0]["source"] == "factory"


def test_resnet50_batch_8_agrees_node_by_node():
    from models import resnet

    with torch.device("meta"):
        model = resnet.resnet50()
    report = shapecheck.check(model, (8, 3, 224, 224))
    conf = confirm_report(report, resnet.resnet50, device="cuda", backward=True)
    assert conf.error is None and conf.predicted_errors == 0
    assert conf.nodes_agree == conf.nodes_compared == known_nodes(report) > 170
    # weights (~100 MB) plus batch-8 activations kept for the backward pass
    assert conf.peak_memory_bytes > 100 * 2**20
    assert events(conf, "backward")[0]["parameters_with_grad"] == \
        len(list(resnet.resnet50().parameters()))


def test_real_out_of_memory_suggests_half_the_batch():
    # the input (0.75 GiB) fits; the conv's 64x1024x1024x1024 floats (256 GiB) fit no GPU
    model = nn.Sequential(nn.Conv2d(3, 1024, 3, padding=1), nn.ReLU())
    report = shapecheck.check(model, (64, 3, 1024, 1024))
    assert report.ok
    conf = confirm_report(report, device="cuda")
    assert conf.error is not None and conf.error.startswith("CUDA out of memory on cuda:")
    assert "at node _0 (module 0" in conf.error
    assert conf.error.endswith("try half the batch: --input 32,3,1024,1024")
    assert conf.nodes_compared == 1  # the input, before the conv ran out of memory
    assert torch.cuda.memory_allocated() < 2**30  # everything was released
    expect_correct("cuda")  # and the device is usable again
