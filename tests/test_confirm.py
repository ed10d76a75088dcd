"""`--confirm`: the real run agrees with the static pass node by node, raises at each
predicted error in turn, and each suggested fix carries it past its add.

The models are tiny and defined here, so that these run in well under a second each on a
CPU. `test_confirm_gpu.py` repeats the checks on CUDA through the `expect_*` helpers.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.fx as fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

import shapecheck
from shapecheck.confirm import ConfirmError, confirm_report
from shapecheck.reporters.confirmation import confirmation_lines as summary
from shapecheck.report import Finding, Location, NodeInfo, Report

IMAGE = (2, 3, 16, 16)


class Block(nn.Module):
    """A basic residual block; `project=False` forces an identity shortcut (the bug)."""

    def __init__(self, cin: int, cout: int, stride: int = 1, project: bool | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if project is None:
            project = cin != cout or stride != 1
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                       nn.BatchNorm2d(cout)) if project else nn.Identity())

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + self.shortcut(x))


class Net(nn.Module):
    """Three stages; `bugs` names the stages (2, 3) that lose their projection shortcut."""

    def __init__(self, bugs: tuple[int, ...] = ()):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 1, 1)
        self.layer1 = Block(8, 8)
        self.layer2 = Block(8, 16, 2, project=False if 2 in bugs else None)
        self.layer3 = Block(16, 32, 2, project=False if 3 in bugs else None)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.fc(x.mean((2, 3)))


class Silent(nn.Module):
    """A stride-2 identity block: on a 2x2 map, [1,16,1,1] + [1,16,2,2] raises nothing."""

    def __init__(self):
        super().__init__()
        self.block = Block(16, 16, 2, project=False)

    def forward(self, x):
        return self.block(x)


class LayerBug(nn.Module):
    """A conv built for 16 channels that receives 8: a layer_mismatch, which has no fix."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(16, 8, 3, padding=1)

    def forward(self, x):
        y = self.a(x)
        return self.b(y) + y


class Tokens(nn.Module):
    """Integer token input, a real buffer and a traced constant (`torch.ones`)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16)
        self.lin = nn.Linear(16, 16)
        self.register_buffer("scale", torch.full((16,), 2.0))

    def forward(self, ids):
        h = self.emb(ids)
        return h + self.lin(h) * self.scale + torch.ones(16)


class SplitBlock(nn.Module):
    """Keras-style split-transform-merge: iterating over `torch.chunk` defeats fx, so the
    recording tracer makes the graph (and bakes `device=meta` into `torch.arange`)."""

    def __init__(self, c: int, stride: int, project: bool):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(c // 2, c, 3, stride, 1) for _ in range(2))
        self.proj = nn.Conv2d(c, 2 * c, 1, stride) if project else None

    def forward(self, x):
        y = torch.cat([conv(part) for conv, part in zip(self.convs, torch.chunk(x, 2, 1))], 1)
        shortcut = self.proj(x) if self.proj is not None else x
        return y + shortcut + torch.arange(y.shape[-1], device=y.device) * 0


class Hog(nn.Module):
    """Stands for a layer that exhausts the device: fine on meta, OOM for real."""

    def forward(self, x):
        if not x.is_meta:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return x


class HogNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.hog = Hog()

    def forward(self, x):
        return self.hog(self.conv(x))


# -- shared expectations (also used by test_confirm_gpu.py) -------------------------------

def events(conf, kind: str) -> list[dict]:
    return [e for e in conf.events if e["event"] == kind]


def known_nodes(report: Report) -> int:
    """Nodes with a predicted shape: every one of them must be compared in a full chain."""
    return sum(1 for info in report.nodes.values() if info.shape is not None or info.shapes)


def expect_clean(report: Report, conf) -> None:
    assert conf.error is None
    assert conf.nodes_compared == known_nodes(report) > 0
    assert conf.nodes_agree == conf.nodes_compared and conf.disagreements == []
    assert events(conf, "completed") and not events(conf, "not_compared")
    assert conf.peak_memory_bytes and conf.peak_memory_bytes > 0
    assert conf.seconds > 0


def expect_correct(device: str) -> None:
    report = shapecheck.check(Net(), IMAGE)
    conf = confirm_report(report, device=device)
    assert report.confirm is conf
    assert (conf.predicted_errors, conf.errors_confirmed, conf.fixes_confirmed) == (0, 0, 0)
    assert [e["fixes"] for e in events(conf, "run")] == [[]]
    expect_clean(report, conf)


def expect_single_bug(device: str) -> None:
    report = shapecheck.check(Net(bugs=(2,)), IMAGE)
    (finding,) = report.errors
    conf = confirm_report(report, device=device)
    assert (conf.predicted_errors, conf.errors_confirmed, conf.fixes_confirmed) == (1, 1, 1)
    (confirmed,) = events(conf, "error_confirmed")
    assert confirmed["node"] == finding.node and confirmed["module"] == "layer2"
    assert confirmed["location"] == str(finding.location)
    assert confirmed["how"] == "raised" and "must match" in confirmed["message"]
    assert [e["failed_at"] for e in events(conf, "run")] == [finding.node, None]
    assert events(conf, "fix_confirmed")[0]["output"] == [2, 16, 8, 8]
    expect_clean(report, conf)


def expect_two_bugs(device: str) -> None:
    report = shapecheck.check(Net(bugs=(2, 3)), IMAGE)
    assert len(report.errors) == 2
    conf = confirm_report(report, device=device)
    assert (conf.predicted_errors, conf.errors_confirmed, conf.fixes_confirmed) == (2, 2, 2)
    confirmed = events(conf, "error_confirmed")
    assert [e["node"] for e in confirmed] == [f.node for f in report.errors]
    assert [e["module"] for e in confirmed] == ["layer2", "layer3"]
    runs = events(conf, "run")
    assert [r["fixes"] for r in runs] == [[], [0], [0, 1]]
    assert [r["failed_at"] for r in runs] == [report.errors[0].node, report.errors[1].node, None]
    expect_clean(report, conf)


def expect_silent_broadcast(device: str) -> None:
    report = shapecheck.check(Silent(), (1, 16, 2, 2))
    (finding,) = report.errors
    conf = confirm_report(report, device=device)
    assert (conf.predicted_errors, conf.errors_confirmed, conf.fixes_confirmed) == (1, 1, 1)
    (confirmed,) = events(conf, "error_confirmed")
    assert confirmed["how"] == "broadcast" and confirmed["node"] == finding.node
    assert confirmed["module"] == "block"
    assert confirmed["shapes"] == [[1, 16, 1, 1], [1, 16, 2, 2]]
    assert confirmed["output"] == [1, 16, 2, 2]  # eager mode broadcast without a word
    assert events(conf, "run")[0]["completed"]
    assert events(conf, "fix_confirmed")[0]["output"] == [1, 16, 1, 1]
    expect_clean(report, conf)


# -- the four reference cases on the CPU --------------------------------------------------

def test_correct_model_every_node_agrees():
    expect_correct("cpu")


def test_single_bug_confirmed_at_the_predicted_add_and_fixed():
    expect_single_bug("cpu")


def test_two_bugs_confirmed_in_turn_as_fixes_accumulate():
    expect_two_bugs("cpu")


def test_silent_broadcast_confirmed_by_shape():
    expect_silent_broadcast("cpu")


def test_device_string_names_the_cpu_threads():
    conf = confirm_report(shapecheck.check(Net(), IMAGE), device="auto"
                          if not torch.cuda.is_available() else "cpu")
    assert conf.device == f"cpu ({torch.get_num_threads()} thread" \
        f"{'s' if torch.get_num_threads() != 1 else ''})"


# -- chains that stop, and runs that disagree ---------------------------------------------

def test_error_without_fix_is_confirmed_and_stops_the_chain():
    report = shapecheck.check(LayerBug(), (1, 3, 8, 8))
    (finding,) = report.errors
    assert finding.kind == "layer_mismatch" and finding.fix is None
    conf = confirm_report(report, device="cpu")
    assert (conf.predicted_errors, conf.errors_confirmed, conf.fixes_confirmed) == (1, 1, 0)
    (stopped,) = events(conf, "chain_stopped")
    assert stopped["node"] == finding.node == "b" and "no suggested fix" in stopped["reason"]
    assert "expected input[1, 8, 8, 8] to have 16 channels" in \
        events(conf, "error_confirmed")[0]["message"]
    (missing,) = events(conf, "not_compared")
    assert missing["count"] == known_nodes(report) - conf.nodes_compared == 2
    assert not events(conf, "completed")


def _hand_report(model: nn.Module, shape: tuple[int, ...]) -> Report:
    """A Report built by hand from fx + ShapeProp: the confirm logic without the engine."""
    gm = fx.symbolic_trace(model)
    ShapeProp(gm).propagate(torch.randn(shape))
    nodes = {}
    for n in gm.graph.nodes:
        meta = n.meta.get("tensor_meta")
        if n.op == "output":
            continue
        nodes[n.name] = NodeInfo(n.name, n.op, str(n.target), str(n.target), None, (),
                                 tuple(meta.shape) if hasattr(meta, "shape") else None,
                                 dtype=str(meta.dtype) if hasattr(meta, "dtype") else None)
    return Report("hand", input_shapes=[shape], nodes=nodes, graph_module=gm, model=model)


def test_wrong_static_shape_is_a_disagreement():
    report = _hand_report(Net(), IMAGE)
    info = report.nodes["layer2_conv1"]
    report.nodes["layer2_conv1"] = NodeInfo(info.name, info.op, info.target, "layer2.conv1",
                                            Location("net.py", 7), (), (2, 16, 9, 9))
    conf = confirm_report(report, device="cpu")
    assert conf.nodes_compared == known_nodes(report)
    assert conf.nodes_agree == conf.nodes_compared - 1
    assert conf.disagreements == [{"node": "layer2_conv1", "module": "layer2.conv1",
                                   "location": "net.py:7", "static": [2, 16, 9, 9],
                                   "real": [2, 16, 8, 8]}]
    assert any("predicted 2x16x9x9, real 2x16x8x8" in line for line in summary(conf))


def test_unpredicted_failure_is_reported_not_raised():
    with torch.device("meta"):
        model = Net(bugs=(2,))
    report = _hand_report(Net(), IMAGE)  # static shapes of the correct net: no error known
    report.graph_module = fx.symbolic_trace(model)
    report.model = model
    conf = confirm_report(report, device="cpu")
    assert conf.error is None and conf.predicted_errors == 0
    (failure,) = events(conf, "unexpected_failure")
    assert failure["node"] == "add_1" and "must match" in failure["message"]
    assert conf.disagreements[-1]["node"] == "add_1" and conf.disagreements[-1]["real"] is None


def test_predicted_error_the_real_run_does_not_raise_is_not_confirmed():
    report = _hand_report(Net(), IMAGE)
    report.findings = [Finding("SC101", "channel_mismatch", "error", "invented", "layer2",
                               None, node="add_1")]
    conf = confirm_report(report, device="cpu")
    assert (conf.predicted_errors, conf.errors_confirmed) == (1, 0)
    (refuted,) = events(conf, "error_not_confirmed")
    assert refuted["node"] == "add_1" and "without error" in refuted["reason"]


# -- where the weights and inputs come from -----------------------------------------------

def test_meta_model_is_materialised_and_factory_gives_the_same_verdict():
    with torch.device("meta"):
        meta_model = Net(bugs=(2,))
    report = shapecheck.check(meta_model, IMAGE)
    from_meta = confirm_report(report, device="cpu")
    from_factory = confirm_report(report, lambda: Net(bugs=(2,)), device="cpu")
    for conf in (from_meta, from_factory):
        assert (conf.errors_confirmed, conf.fixes_confirmed, conf.error) == (1, 1, None)
        assert conf.nodes_agree == conf.nodes_compared == known_nodes(report)
    assert [events(c, "build")[0]["source"] for c in (from_meta, from_factory)] == \
        ["report.model", "factory"]
    assert all(p.is_meta for p in meta_model.parameters())  # the analysed model is untouched


def test_integer_inputs_buffers_and_traced_constants():
    report = shapecheck.check(Tokens(), torch.zeros(2, 5, dtype=torch.long))
    assert report.nodes["ids"].dtype in ("int64", "torch.int64")
    conf = confirm_report(report, device="cpu")
    expect_clean(report, conf)


def test_recorded_graph_runs_on_the_real_device():
    model = nn.Sequential(SplitBlock(8, 1, True), SplitBlock(16, 2, False))
    report = shapecheck.check(model, (1, 8, 8, 8))
    assert report.tracer == "record"
    baked = [n for n in report.graph_module.graph.nodes if "arange" in str(n.target)]
    assert baked and baked[0].kwargs["device"] == torch.device("meta")
    conf = confirm_report(report, device="cpu")
    assert (conf.predicted_errors, conf.errors_confirmed, conf.fixes_confirmed) == (1, 1, 1)
    assert events(conf, "error_confirmed")[0]["module"] == "1"
    expect_clean(report, conf)


def test_backward_on_the_fully_fixed_model():
    report = shapecheck.check(Net(bugs=(2,)), IMAGE)
    conf = confirm_report(report, device="cpu", backward=True)
    (backward,) = events(conf, "backward")
    fix_params = 3  # the inserted projection: conv weight, BN weight and bias
    assert backward["ok"] and backward["parameters_with_grad"] == \
        len(list(Net(bugs=(2,)).parameters())) + fix_params
    assert conf.error is None and conf.fixes_confirmed == 1


def test_out_of_memory_becomes_advice_not_a_crash():
    report = shapecheck.check(HogNet(), (4, 3, 8, 8), leaf_modules=(Hog,))
    conf = confirm_report(report, device="cpu")
    assert conf.error is not None and conf.error.startswith("out of memory on cpu")
    assert "node hog (module hog" in conf.error
    assert conf.error.endswith("try half the batch: --input 2,3,8,8")
    assert conf.nodes_compared == 2  # the input and the conv ran before the failure


def test_check_with_confirm_fills_the_contract_fields():
    report = shapecheck.check(Net(bugs=(2, 3)), IMAGE, confirm=True, device="cpu")
    doc = report.to_json()["confirm"]
    assert {"device", "nodes_compared", "nodes_agree", "predicted_errors", "errors_confirmed",
            "fixes_confirmed", "seconds"} <= set(doc)
    assert (doc["predicted_errors"], doc["errors_confirmed"], doc["fixes_confirmed"]) == (2, 2, 2)


# -- usage errors and side effects --------------------------------------------------------

@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_explicit_cuda_without_cuda_is_a_confirm_error():
    report = shapecheck.check(Net(), IMAGE)
    with pytest.raises(ConfirmError, match="CUDA is not available"):
        confirm_report(report, device="cuda")
    assert report.confirm is None


def test_unknown_device_and_missing_graph_are_confirm_errors():
    report = shapecheck.check(Net(), IMAGE)
    with pytest.raises(ConfirmError, match="not a device"):
        confirm_report(report, device="gpu0")
    with pytest.raises(ConfirmError, match="no traced graph"):
        confirm_report(Report("empty"), device="cpu")


def test_callers_random_state_is_left_alone():
    report = shapecheck.check(Net(bugs=(2,)), IMAGE)
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    first = confirm_report(report, device="cpu")
    assert torch.equal(before, torch.random.get_rng_state())
    second = confirm_report(copy.copy(report), device="cpu")
    assert first.disagreements == second.disagreements == []
