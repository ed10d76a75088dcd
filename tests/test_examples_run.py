"""The seed ports in `examples/` run for real on CPU and fail exactly where their docstrings say.

These are the ground truth for the static engine: for every buggy factory, the real run
raises at a known module path and source line with known operand shapes, and applying the
projection (or layer) fix that shapecheck proposes makes the run go past that point. Lines
are found by searching the example's source for the add's text, never pasted.

Module paths are tracked with forward pre-hooks (a module whose forward raises never runs
its forward hook, so the innermost entry left on the stack is the one that raised); adds
are recorded by a `TorchFunctionMode` with their caller's line in `examples/`.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import sys
import traceback
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Callable, Optional

import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "examples.md"

Shape = tuple[int, ...]

# How a tensor addition reaches __torch_function__: `a + b` as TensorBase.add, `a += b` as
# add_, torch.add as add; the dunder names cover the other spellings.
_ADD_NAMES = {"add", "add_", "__add__", "__iadd__", "__radd__"}


# --- helpers -------------------------------------------------------------------------------

@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Run single-threaded: the many tiny per-group convs gain nothing from intra-op threads,
    and on a busy 2-core runner the threads' spinning costs several times the work."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@cache
def load_example(name: str):
    """Import examples/<name>.py by path with its folder on sys.path, as the CLI does."""
    path = EXAMPLES / f"{name}.py"
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(f"_shapecheck_example_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(EXAMPLES))
    return module


def line_of(file: str, code: str) -> int:
    """The one line of examples/<file> whose code (comment stripped) is exactly `code`."""
    lines = (EXAMPLES / file).read_text().splitlines()
    hits = [i for i, text in enumerate(lines, 1) if text.split("#")[0].strip() == code]
    assert len(hits) == 1, f"{code!r} found on lines {hits} of {file}"
    return hits[0]


@cache
def _in_examples(filename: str) -> bool:
    return Path(filename).resolve().parent == EXAMPLES


def innermost_example_frame(exc: BaseException) -> tuple[str, int, str]:
    """(file name, line, function) of the innermost traceback frame in an example file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _in_examples(f.filename)]
    assert frames, "no traceback frame in examples/"
    return Path(frames[-1].filename).name, frames[-1].lineno, frames[-1].name


@dataclass(frozen=True)
class AddCall:
    """One tensor addition seen during a real run."""

    module: str  # innermost module whose forward was running
    file: str  # example file name of the caller
    line: int
    operands: tuple[Shape, Shape]
    result: Optional[Shape]  # None when the add raised


class RunRecorder(TorchFunctionMode):
    """Records module inputs/outputs (hooks) and every tensor add (torch function mode)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.inputs: dict[str, Shape] = {}
        self.outputs: dict[str, Shape] = {}
        self.adds: list[AddCall] = []
        self._handles = []
        for name, module in model.named_modules():
            self._handles.append(module.register_forward_pre_hook(partial(self._enter, name)))
            self._handles.append(module.register_forward_hook(partial(self._exit, name)))

    def _enter(self, name: str, module: nn.Module, args: tuple) -> None:
        self.stack.append(name)
        if args and isinstance(args[0], torch.Tensor):
            self.inputs[name] = tuple(args[0].shape)

    def _exit(self, name: str, module: nn.Module, args: tuple, output) -> None:
        self.stack.pop()
        if isinstance(output, torch.Tensor):
            self.outputs[name] = tuple(output.shape)

    @property
    def raised_in(self) -> str:
        """After an exception: the innermost module whose forward did not return."""
        return self.stack[-1]

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if (getattr(func, "__name__", None) not in _ADD_NAMES or len(args) < 2
                or not all(isinstance(a, torch.Tensor) for a in args[:2])):
            return func(*args, **kwargs)
        frame = inspect.currentframe().f_back
        while frame is not None and not _in_examples(frame.f_code.co_filename):
            frame = frame.f_back
        assert frame is not None, "a tensor add outside examples/"
        where = dict(module=self.stack[-1] if self.stack else "",
                     file=Path(frame.f_code.co_filename).name, line=frame.f_lineno,
                     operands=(tuple(args[0].shape), tuple(args[1].shape)))
        try:
            out = func(*args, **kwargs)
        except RuntimeError:
            self.adds.append(AddCall(result=None, **where))
            raise
        self.adds.append(AddCall(result=tuple(out.shape), **where))
        return out

    def __exit__(self, *exc):
        for handle in self._handles:
            handle.remove()
        return super().__exit__(*exc)


@dataclass(frozen=True)
class Failure:
    """Where a real run raised: module path, innermost example frame, failing add (if any)."""

    module: str
    file: str
    line: int
    operands: Optional[tuple[Shape, Shape]]


def run(model: nn.Module, shape: Shape) -> tuple[RunRecorder, Shape]:
    """One real forward pass in eval mode (BatchNorm then accepts batches of one 1x1 map)."""
    model.eval()
    with RunRecorder(model) as rec, torch.no_grad():
        out = model(torch.randn(shape))
    return rec, tuple(out.shape)


def run_until_clean(model: nn.Module, shape: Shape,
                    fix: Callable[[nn.Module, str, RunRecorder], None]) -> tuple[list[Failure], Shape]:
    """Run; at each RuntimeError record where it raised, apply `fix` there and run again.

    This is what shapecheck promises statically: every problem, each with a fix that lets
    the model go past it. Returns the failures in order and the final output shape.
    """
    failures: list[Failure] = []
    model.eval()
    for _ in range(5):
        rec = RunRecorder(model)
        try:
            with rec, torch.no_grad():
                out = model(torch.randn(shape))
            return failures, tuple(out.shape)
        except RuntimeError as exc:
            file, line, _ = innermost_example_frame(exc)
            failed_add = rec.adds[-1] if rec.adds and rec.adds[-1].result is None else None
            if failed_add is not None:  # the add's own record agrees with the traceback
                assert (failed_add.file, failed_add.line, failed_add.module) == (file, line, rec.raised_in)
            failures.append(Failure(rec.raised_in, file, line, failed_add.operands if failed_add else None))
            fix(model, rec.raised_in, rec)
    raise AssertionError(f"still failing after fixes: {failures}")


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output size of a conv or pool along one dim."""
    return (size + 2 * padding - kernel) // stride + 1


def mismatch_kind(operands: tuple[Shape, Shape]) -> str:
    """The contract's finding kind for an add of N,C,H,W maps that raised."""
    (a, b) = operands
    return "channel_mismatch" if a[1] != b[1] else "spatial_mismatch"


def projection(in_channels: int, out_channels: int, stride) -> nn.Sequential:
    """The projection shortcut shapecheck proposes: 1x1 conv (stride) + BatchNorm."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(out_channels)).eval()


# --- keras_resnext.py: the seed's system, correct ------------------------------------------

KERAS_ADD = ("keras_resnext.py", "x = x + shortcut")


def keras_stage_shapes(image: int) -> list[Shape]:
    """Stack outputs of ResNeXt-50 from the architecture: stem /4, then each stack's stride."""
    kr = load_example("keras_resnext")
    size = conv_out(conv_out(image, 7, 2, 3), 3, 2, 1)
    shapes = []
    for filters, _, strides in kr.RESNEXT50_STACKS:
        size = conv_out(size, 3, strides, 1)
        shapes.append((1, filters * 2, size, size))
    return shapes


def test_keras_stack_builds_blocks_plus_one_with_projection_first():
    kr = load_example("keras_resnext")
    model = kr.build()
    stacks = [model.get_submodule(f"stack{i}") for i in range(1, 5)]
    assert [len(s) for s in stacks] == [blocks + 1 for _, blocks, _ in kr.RESNEXT50_STACKS] == [3, 4, 6, 3]
    assert [[b.shortcut is not None for b in s] for s in stacks] == [[True] + [False] * (len(s) - 1)
                                                                       for s in stacks]


def test_keras_resnext_runs_and_every_add_matches():
    kr = load_example("keras_resnext")
    model = kr.build()
    rec, out = run(model, kr.INPUT_SHAPE)
    assert out == (1, 1000)
    assert [rec.outputs[f"stack{i}"] for i in range(1, 5)] == keras_stage_shapes(kr.INPUT_SHAPE[-1])
    line = line_of(*KERAS_ADD)
    blocks = [f"stack{i}.{j}" for i in range(1, 5) for j in range(len(model.get_submodule(f"stack{i}")))]
    assert [(a.module, a.file, a.line) for a in rec.adds] == [(b, KERAS_ADD[0], line) for b in blocks]
    assert len(rec.adds) == 16
    for add in rec.adds:
        assert add.operands[0] == add.operands[1] == add.result
        assert add.operands[0] == rec.outputs[f"{add.module}.bn3"]  # main branch first


def test_keras_resnext_matches_torchvision_parameter_count():
    from shapecheck.load.thirdparty import import_torchvision

    torchvision = import_torchvision()
    if torchvision is None:
        pytest.skip("torchvision not importable")
    kr = load_example("keras_resnext")

    def count(m: nn.Module) -> int:
        return sum(p.numel() for p in m.parameters())

    with torch.device("meta"):  # no weights: only the counts matter
        assert count(kr.build()) == count(torchvision.models.resnext50_32x4d())


def test_keras_grouped_block_defeats_symbolic_trace():
    kr = load_example("keras_resnext")
    with torch.device("meta"):
        model = kr.build()
    with pytest.raises(torch.fx.proxy.TraceError, match="cannot be iterated"):
        torch.fx.symbolic_trace(model)


# --- keras_resnext_buggy.py ------------------------------------------------------------------

def project_keras_block(model: nn.Module, where: str, rec: RunRecorder) -> None:
    """shapecheck's fix for a Keras block: project the shortcut to the main branch's shape."""
    block = model.get_submodule(where)
    block.shortcut = projection(block.conv1.in_channels, block.out_channels, block.grouped.convs[0].stride)


def _keras_expected(factory: str, image: int) -> list[Failure]:
    """Expected failures, derived from ResNeXt-50's stack shapes and the bugs' placement."""
    line = line_of(*KERAS_ADD)
    s1, s2, _, s4 = keras_stage_shapes(image)
    bug_a = Failure("stack2.0", KERAS_ADD[0], line, (s2, s1))  # main 512@28, shortcut 256@56
    half = math.ceil(s4[-1] / 2)
    bug_b = Failure("stack4.3", KERAS_ADD[0], line, ((*s4[:2], half, half), s4))
    return {"build": [bug_a, bug_b], "build_first_block_identity": [bug_a],
            "build_stride2_identity": [bug_b]}[factory]


# The two-bug net at the file's own input; the single-bug nets at 96x96, which is cheaper and
# still leaves stack4 a 3x3 map, halved to 2x2: no broadcast (64x64 would give 1x1 vs 2x2).
@pytest.mark.parametrize("factory, image", [
    ("build", None), ("build_first_block_identity", 96), ("build_stride2_identity", 96)])
def test_keras_buggy_fails_at_each_bug_and_projection_fixes_it(factory, image):
    kb = load_example("keras_resnext_buggy")
    shape = kb.INPUT_SHAPES[factory] if image is None else (1, 3, image, image)
    failures, out = run_until_clean(getattr(kb, factory)(), shape, project_keras_block)
    assert failures == _keras_expected(factory, shape[-1])
    kinds = {"stack2.0": "channel_mismatch", "stack4.3": "spatial_mismatch"}
    assert [mismatch_kind(f.operands) for f in failures] == [kinds[f.module] for f in failures]
    assert out == (1, 1000)


def test_keras_tiny_stride2_identity_broadcasts_silently():
    kb = load_example("keras_resnext_buggy")
    shape = kb.INPUT_SHAPES["build_tiny_stride2_identity"]
    model = kb.build_tiny_stride2_identity()
    rec, out = run(model, shape)
    assert out == (1, 10)
    bad = [a for a in rec.adds if a.module == "stack2.0"]
    assert [(a.file, a.line) for a in bad] == [(KERAS_ADD[0], line_of(*KERAS_ADD))]
    main = rec.outputs["stack2.0.bn3"]
    assert bad[0].operands == (main, rec.inputs["stack2.0"])
    assert main == (1, 16, 1, 1) and rec.inputs["stack2.0"] == (1, 16, 2, 2)
    assert bad[0].result != main  # the add's output silently took the shortcut's 2x2 size
    # At any larger input the same block fails: the broadcast was luck of the input size.
    failures, _ = run_until_clean(model, (1, 3, 16, 16), project_keras_block)
    assert [(f.module, f.operands) for f in failures] == [("stack2.0", ((1, 16, 2, 2), (1, 16, 4, 4)))]
    assert mismatch_kind(failures[0].operands) == "spatial_mismatch"


def test_keras_buggy_imports_its_sibling_without_sys_path(monkeypatch):
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != EXAMPLES])
    monkeypatch.delitem(sys.modules, "keras_resnext", raising=False)
    spec = importlib.util.spec_from_file_location("_buggy_no_path", EXAMPLES / "keras_resnext_buggy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert Path(inspect.getfile(module.Block)).resolve() == EXAMPLES / "keras_resnext.py"
    monkeypatch.delitem(sys.modules, "keras_resnext", raising=False)  # leave no trace behind


# --- interview_resnet.py -------------------------------------------------------------------

INTERVIEW_ADD = ("interview_resnet.py", "Y += X")


def test_interview_resnet18_stage_shapes_and_adds():
    ir = load_example("interview_resnet")
    rec, out = run(ir.resnet18(), ir.INPUT_SHAPE)
    size = conv_out(conv_out(ir.INPUT_SHAPE[-1], 7, 2, 3), 3, 2, 1)
    expected = [(1, 64, size, size)]
    for channels, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        size = conv_out(size, 3, stride, 1)
        expected.append((1, channels, size, size))
    assert [rec.outputs[f"b{i}"] for i in range(1, 6)] == expected
    assert expected[1:] == [(1, 64, 24, 24), (1, 128, 12, 12), (1, 256, 6, 6), (1, 512, 3, 3)]  # d2l's
    assert out == (1, 10)
    line = line_of(*INTERVIEW_ADD)
    blocks = [f"b{i}.{j}" for i in range(2, 6) for j in (0, 1)]
    assert [(a.module, a.line) for a in rec.adds] == [(b, line) for b in blocks]
    assert all(a.operands[0] == a.operands[1] for a in rec.adds)


def test_interview_misplaced_first_block_fails_in_conv1_then_at_the_add():
    ir = load_example("interview_resnet")

    def fix(model: nn.Module, where: str, rec: RunRecorder) -> None:
        received = rec.inputs[where][1]
        if where.endswith("conv1"):  # layer fix: build the conv for the channels it receives
            old = model.get_submodule(where)
            block = model.get_submodule(where.rsplit(".", 1)[0])
            block.conv1 = nn.Conv2d(received, old.out_channels, 3, padding=1, stride=old.stride)
        else:  # residual fix: the 1x1 projection that use_1x1conv=True would have built
            block = model.get_submodule(where)
            block.conv3 = nn.Conv2d(received, block.conv2.out_channels, 1, stride=block.conv1.stride)

    failures, out = run_until_clean(ir.resnet18_misplaced_first_block(), ir.INPUT_SHAPE, fix)
    conv_line = line_of("interview_resnet.py", "Y = self.relu(self.bn1(self.conv1(X)))")
    assert failures == [
        Failure("b3.0.conv1", "interview_resnet.py", conv_line, None),  # layer mismatch
        Failure("b3.0", INTERVIEW_ADD[0], line_of(*INTERVIEW_ADD), ((1, 128, 24, 24), (1, 64, 24, 24))),
    ]
    assert mismatch_kind(failures[1].operands) == "channel_mismatch"
    assert out == (1, 10)


# --- cifar_resnext.py ------------------------------------------------------------------------

CIFAR_ADD = ("cifar_resnext.py", "out = residual + bottleneck")


def project_cifar_block(model: nn.Module, where: str, rec: RunRecorder) -> None:
    block = model.get_submodule(where)
    block.shortcut = projection(block.conv_reduce.in_channels, block.conv_expand.out_channels,
                                block.conv_conv.stride)


def test_cifar_resnext29_runs_and_every_add_matches():
    cr = load_example("cifar_resnext")
    rec, out = run(cr.cifar_resnext29(), cr.INPUT_SHAPE)
    assert out == (1, 10)
    size, expected = cr.INPUT_SHAPE[-1], []
    for channels, stride in [(256, 1), (512, 2), (1024, 2)]:
        size = conv_out(size, 3, stride, 1)
        expected.append((1, channels, size, size))
    assert [rec.outputs[f"stage_{i}"] for i in (1, 2, 3)] == expected
    assert expected[-1][-1] == 8  # what avg_pool2d(x, 8) expects
    line = line_of(*CIFAR_ADD)
    blocks = [f"stage_{i}.stage_{i}_bottleneck_{j}" for i in (1, 2, 3) for j in range(3)]
    assert [(a.module, a.line) for a in rec.adds] == [(b, line) for b in blocks]
    for add in rec.adds:
        # shortcut first, main second; equal here, so also check against the recorded branches
        assert add.operands == (rec.outputs[f"{add.module}.shortcut"], rec.outputs[f"{add.module}.bn_expand"])
        assert add.operands[0] == add.operands[1]


def test_cifar_equal_width_stride2_spatial_mismatch_with_shortcut_first():
    cr = load_example("cifar_resnext")
    model = cr.cifar_resnext_equal_width_stride2()
    failures, out = run_until_clean(model, cr.INPUT_SHAPE, project_cifar_block)
    full = cr.INPUT_SHAPE[-1]
    half = conv_out(full, 3, 2, 1)
    assert failures == [Failure("stage_2.stage_2_bottleneck_0", CIFAR_ADD[0], line_of(*CIFAR_ADD),
                                ((1, 256, full, full), (1, 256, half, half)))]  # (shortcut, main)
    assert mismatch_kind(failures[0].operands) == "spatial_mismatch"
    assert out == (1, 10)


# --- d2l_resnext.py --------------------------------------------------------------------------

D2L = "d2l_resnext.py"


@pytest.mark.parametrize("factory, add_code, expected", [
    ("residual_keep", "Y += X", lambda n, c, h, w: (n, 3, h, w)),
    ("residual_downsample", "Y += X", lambda n, c, h, w: (n, 6, conv_out(h, 3, 2, 1), conv_out(w, 3, 2, 1))),
    ("resnext_block", "Y = Y + X", lambda n, c, h, w: (n, 32, h, w)),
])
def test_d2l_correct_blocks(factory, add_code, expected):
    d2l = load_example("d2l_resnext")
    shape = d2l.INPUT_SHAPES[factory]
    rec, out = run(getattr(d2l, factory)(), shape)
    assert out == expected(*shape)
    assert [(a.module, a.file, a.line) for a in rec.adds] == [("", D2L, line_of(D2L, add_code))]
    assert rec.adds[0].operands == (out, out)


def test_d2l_seed_shapes():
    d2l = load_example("d2l_resnext")
    assert [run(getattr(d2l, f)(), d2l.INPUT_SHAPES[f])[1]
            for f in ("residual_keep", "residual_downsample")] == [(4, 3, 6, 6), (4, 6, 3, 3)]


def test_d2l_stride2_without_projection_fails_at_the_add():
    d2l = load_example("d2l_resnext")

    def fix(model: nn.Module, where: str, rec: RunRecorder) -> None:
        block = model.get_submodule(where)
        block.conv3 = nn.Conv2d(rec.inputs[where][1], block.conv1.out_channels, 1, stride=block.conv1.stride)

    shape = d2l.INPUT_SHAPES["residual_stride2_no_projection"]
    failures, out = run_until_clean(d2l.residual_stride2_no_projection(), shape, fix)
    half = conv_out(shape[-1], 3, 2, 1)
    assert failures == [Failure("", D2L, line_of(D2L, "Y += X"), ((4, 3, half, half), shape))]
    assert mismatch_kind(failures[0].operands) == "spatial_mismatch"
    assert out == (4, 3, half, half)


def test_d2l_bad_groups_constructor_raises():
    d2l = load_example("d2l_resnext")
    with pytest.raises(ValueError, match="groups") as info:
        d2l.resnext_block_bad_groups()
    assert innermost_example_frame(info.value)[2] == "__init__"


# --- discovery and docs ----------------------------------------------------------------------

FACTORIES = {
    "keras_resnext": {"build"},
    "keras_resnext_buggy": {"build", "build_first_block_identity", "build_stride2_identity",
                            "build_tiny_stride2_identity"},
    "interview_resnet": {"resnet18", "resnet18_misplaced_first_block"},
    "cifar_resnext": {"cifar_resnext29", "cifar_resnext_equal_width_stride2"},
    "d2l_resnext": {"residual_keep", "residual_downsample", "resnext_block",
                    "residual_stride2_no_projection", "resnext_block_bad_groups"},
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_examples_offer_exactly_their_factories(name):
    """What `shapecheck file.py` discovers: no-argument callables defined there."""
    module = load_example(name)

    def no_args(obj) -> bool:
        return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
                   for p in inspect.signature(obj).parameters.values())

    own = [obj for obj in vars(module).values()
           if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__]
    offered = {obj.__name__ for obj in own if no_args(obj)}
    assert offered == FACTORIES[name]
    for factory in offered:
        assert inspect.signature(getattr(module, factory)).return_annotation in ("nn.Module", nn.Module)
    if hasattr(module, "INPUT_SHAPES"):  # per-factory inputs: one for every factory
        assert set(module.INPUT_SHAPES) == FACTORIES[name]


def test_docs_table_lists_every_factory():
    text = DOCS.read_text()
    for name, factories in FACTORIES.items():
        for factory in factories:
            assert f"`examples/{name}.py:{factory}`" in text
