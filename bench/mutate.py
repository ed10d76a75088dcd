"""Mutation run: inject shortcut bugs into correct residual networks and measure recall.

For every residual block of each model, the applicable mutations are:

- `drop_downsample`: the projection shortcut is replaced by `nn.Identity()`;
- `stride`: the block's first main-branch conv with a kernel > 1 gets stride 2 (or 1
  when it had 2), the shortcut untouched;
- `proj_channels`: the projection's last conv (and the norms after it) outputs half
  the channels (the classic "forgot `* expansion`");
- `proj_one`: the projection outputs 1 channel (the add then broadcasts silently);
- `main_channels`: the main branch's last conv (the one giving the block its output
  width, and the norms after it) outputs half the channels, while the shortcut and the
  next block keep the right width: here the fix belongs in the main branch (a `resize`
  of that conv), not on the shortcut.

Each mutant is checked two ways. Ground truth, independent of shapecheck: a real CPU
forward at a small input (64x64) under a `TorchFunctionMode` that records every addition's
operand shapes; the mutant is buggy when that forward raises, or when an addition whose
operands had equal shapes in the original model now has unequal ones (a silent broadcast).
Then `shapecheck.check` on the meta-built mutant at the model's default input. Measured:
recall (an error finding at the mutated block: its add, or a layer inside the block),
fixes proposed, correct (in/out channels and stride equal to what the block needs: its
input channels, the main branch's output channels, the main branch's stride, from the
unmutated model's block shapes) and verified, and error findings elsewhere (false
findings at unrelated adds or layers).

Usage:
    python -m bench.mutate            # all models
    python -m bench.mutate --quick    # ResNet-18/50, ResNeXt-50, mobilenet_v2, timm resnet26d
Writes bench/results/mutate.{csv,md}.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
import warnings
from collections import Counter, defaultdict
from typing import Any, Callable, Optional

from bench.common import RESULTS, ensure_path, machine, machine_line, markdown_table, write_csv

QUICK = ("resnet18", "resnet50", "resnext50_32x4d", "tv:mobilenet_v2", "timm:resnet26d")
FULL = QUICK + ("preact_resnet18", "d2l_resnet18", "wide_resnet50_2", "tv:resnet34",
                "tv:regnet_y_400mf", "timm:seresnext26d_32x4d", "timm:resnetv2_50",
                "timm:regnetx_002", "timm:resnet50d")
GROUND_TRUTH_SIDE = 64
BLOCK_CLASSES = {"BasicBlock", "Bottleneck", "ResBottleneckBlock", "PreActBottleneck",
                 "PreActBasicBlock", "InvertedResidual", "Residual"}
SHORTCUT_ATTR = {"Residual": "conv3", "ResBottleneckBlock": "proj"}  # default "downsample"


# ---------------------------------------------------------------- models

def factory(spec: str) -> tuple[Callable, tuple[int, ...]]:
    """`resnet50` (ours), `tv:NAME` or `timm:NAME` -> (no-argument factory, default input)."""
    ensure_path()
    from shapecheck.load.thirdparty import import_timm, import_torchvision

    source, _, name = spec.rpartition(":")
    if source == "tv":
        tv = import_torchvision()
        return (lambda: tv.models.get_model(name, weights=None)), (1, 3, 224, 224)
    if source == "timm":
        timm = import_timm()
        cfg = timm.models.get_pretrained_cfg(name)
        size = tuple(cfg.input_size) if cfg is not None else (3, 224, 224)
        return (lambda: timm.create_model(name, pretrained=False)), (1, *size)
    from models import INPUT_SHAPES, MODELS

    return MODELS[name], tuple(INPUT_SHAPES[name])


# ---------------------------------------------------------------- blocks and mutations

def shortcut_attr(block) -> str:
    return SHORTCUT_ATTR.get(type(block).__name__, "downsample")


def is_residual(block) -> bool:
    name = type(block).__name__
    if name == "InvertedResidual":
        return bool(getattr(block, "use_res_connect", False))
    if type(block).__module__.endswith("regnet") and name == "Bottleneck":
        return block.downsample is not None  # timm RegNet: None means no shortcut at all
    return True


def has_projection(block) -> bool:
    import torch.nn as nn

    sc = getattr(block, shortcut_attr(block), None)
    return isinstance(sc, nn.Module) and any(isinstance(m, nn.Conv2d) for m in sc.modules())


def residual_blocks(model) -> list[str]:
    return [path for path, m in model.named_modules()
            if type(m).__name__ in BLOCK_CLASSES and is_residual(m)]


def main_convs(block) -> list[tuple[str, Any]]:
    """Main-branch convs with a kernel > 1 (not in the shortcut), in definition order."""
    import torch.nn as nn

    skip = shortcut_attr(block)
    return [(p, m) for p, m in block.named_modules()
            if isinstance(m, nn.Conv2d) and max(m.kernel_size) > 1
            and p != skip and not p.startswith(skip + ".")]


def applicable(model, path: str, width: Optional[tuple[str, list[str]]]) -> list[str]:
    block = model.get_submodule(path)
    kinds = []
    if has_projection(block):
        kinds += ["drop_downsample", "proj_channels", "proj_one"]
    if main_convs(block):
        kinds.append("stride")
    if width is not None:
        kinds.append("main_channels")
    return kinds


def leaf_outputs(model, shape) -> list[tuple[str, Any, tuple[int, ...]]]:
    """(path, module, output shape) of every conv and batch norm, in execution order, from
    a meta forward of `model`."""
    import torch
    import torch.nn as nn

    seen: list[tuple[str, Any, tuple[int, ...]]] = []
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.BatchNorm2d)):
            def hook(mod, args, out, name=name):
                seen.append((name, mod, tuple(out.shape)))
            hooks.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.empty(shape, device="meta"))
    for h in hooks:
        h.remove()
    return seen


def width_layers(block_path: str, block, io, leaves) -> Optional[tuple[str, list[str]]]:
    """The main-branch conv that gives block `block_path` its output shape (the last one
    to run with exactly that output, so not an SE gate at 1x1), with the batch norms that
    follow it at that shape; paths relative to the block. None when there is none or its
    width cannot be halved."""
    import torch.nn as nn

    skip = shortcut_attr(block)
    out = io[1]
    inside = [(name[len(block_path) + 1:], m, shape) for name, m, shape in leaves
              if name.startswith(block_path + ".")]
    main = [(rel, m, shape) for rel, m, shape in inside
            if rel != skip and not rel.startswith(skip + ".") and shape[1:] == out[1:]]
    convs = [i for i, (_, m, _) in enumerate(main) if type(m).__name__ == "Conv2d"]
    if not convs:
        return None
    last = convs[-1]
    rel, conv, _ = main[last]
    if conv.out_channels % 2 or (conv.out_channels // 2) % conv.groups:
        return None
    norms = [r for r, m, _ in main[last + 1:] if isinstance(m, nn.BatchNorm2d)]
    return rel, norms


def _resize_out(conv, out: int) -> None:
    """Give `conv` `out` output channels in place (on whatever device its weight is)."""
    import torch
    import torch.nn as nn

    w = conv.weight
    conv.out_channels = out
    conv.weight = nn.Parameter(torch.randn((out, *w.shape[1:]), device=w.device, dtype=w.dtype) * 0.01)
    if conv.bias is not None:
        conv.bias = nn.Parameter(torch.zeros(out, device=w.device, dtype=w.dtype))


def _resize_norm(norm, out: int) -> None:
    import torch
    import torch.nn as nn

    dev = next((t.device for t in list(norm.parameters()) + list(norm.buffers())), None)
    norm.num_features = out
    if norm.weight is not None:
        norm.weight = nn.Parameter(torch.ones(out, device=dev))
        norm.bias = nn.Parameter(torch.zeros(out, device=dev))
    if norm.running_mean is not None:
        norm.running_mean = torch.zeros(out, device=dev)
        norm.running_var = torch.ones(out, device=dev)


def mutate(model, path: str, kind: str, width: Optional[tuple[str, list[str]]] = None) -> str:
    """Apply mutation `kind` to block `path` of `model` in place; return what was changed
    (`width`: the layers `main_channels` changes, from `width_layers`)."""
    import torch.nn as nn

    block = model.get_submodule(path)
    attr = shortcut_attr(block)
    if kind == "main_channels":
        rel, norms = width  # type: ignore[misc]
        conv = block.get_submodule(rel)
        old = conv.out_channels
        _resize_out(conv, old // 2)
        for norm in norms:
            _resize_norm(block.get_submodule(norm), old // 2)
        return f"{rel} out_channels {old} -> {old // 2}" + "".join(f", {n}" for n in norms)
    if kind == "drop_downsample":
        setattr(block, attr, nn.Identity())
        return f"{attr} -> Identity"
    if kind == "stride":
        rel, conv = next(((p, c) for p, c in main_convs(block) if max(c.stride) > 1),
                         main_convs(block)[0])
        old = conv.stride[0]
        conv.stride = (1, 1) if old > 1 else (2, 2)
        return f"{rel} stride {old} -> {conv.stride[0]}"
    shortcut = getattr(block, attr)
    convs = [(p, m) for p, m in shortcut.named_modules() if isinstance(m, nn.Conv2d)]
    rel, conv = convs[-1]
    new = 1 if kind == "proj_one" else conv.out_channels // 2
    old = conv.out_channels
    _resize_out(conv, new)
    after = False
    for p, m in shortcut.named_modules():
        after = after or m is conv
        if after and isinstance(m, nn.modules.batchnorm._BatchNorm):
            _resize_norm(m, new)
    return f"{attr}{'.' + rel if rel else ''} out_channels {old} -> {new}"


def expected_fix(kind: str, block, io: tuple[tuple[int, ...], tuple[int, ...]],
                 width: Optional[tuple[str, list[str]]] = None) -> tuple[str, int, int, int]:
    """(kind, in, out, stride) of the fix the mutated block needs, from unmutated shapes:
    a projection of the block's input, or for `main_channels` the conv rebuilt at the
    block's output width."""
    (_, c_in, h_in, _), (_, c_out, h_out, _) = io
    if kind == "main_channels":
        conv = block.get_submodule(width[0])  # type: ignore[index]
        return "resize", conv.in_channels, c_out, 1
    stride = round(h_in / h_out)
    if kind == "stride":
        conv = next((c for _, c in main_convs(block) if max(c.stride) > 1), None)
        stride = stride // 2 if conv is not None else stride * 2
    return "projection", c_in, c_out, stride


# ---------------------------------------------------------------- ground truth

def record_adds(model, x) -> tuple[list[tuple], Optional[str]]:
    """Run `model(x)` recording every addition's tensor operand shapes; (adds, error or None)."""
    import torch
    from torch.overrides import TorchFunctionMode

    adds: list[tuple] = []
    names = {"add", "add_", "__add__", "__iadd__", "__radd__"}

    class AddRecorder(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if getattr(func, "__name__", "") in names:
                shapes = tuple(tuple(a.shape) for a in args[:2] if isinstance(a, torch.Tensor))
                if len(shapes) == 2:
                    adds.append(shapes)
            return func(*args, **(kwargs or {}))

    try:
        with torch.no_grad(), AddRecorder():
            model(x)
    except Exception as exc:
        return adds, f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:160]}"
    return adds, None


def ground_truth(original_adds: list[tuple], mutant, x) -> tuple[bool, str]:
    """Is the mutant really broken? (it raises, or an add that matched now broadcasts)."""
    adds, error = record_adds(mutant, x)
    if error is not None:
        return True, f"raises {error}"
    if len(adds) == len(original_adds):
        for i, (old, new) in enumerate(zip(original_adds, adds)):
            if old[0] == old[1] and new[0] != new[1]:
                return True, f"add #{i} broadcasts {list(new[0])} + {list(new[1])}"
    else:  # control flow changed: compare the sets of unequal-operand adds
        extra = {a for a in adds if a[0] != a[1]} - {a for a in original_adds if a[0] != a[1]}
        if extra:
            a = sorted(extra)[0]
            return True, f"an add broadcasts {list(a[0])} + {list(a[1])}"
    return False, "runs and every add matches"


def block_io(model, shape) -> dict[str, tuple]:
    """Each residual block's (input shape, output shape) from a meta forward of `model`."""
    import torch

    io: dict[str, tuple] = {}
    hooks = []
    for path in residual_blocks(model):
        def hook(mod, args, out, path=path):
            io[path] = (tuple(args[0].shape), tuple(out.shape))
        hooks.append(model.get_submodule(path).register_forward_hook(hook))
    with torch.no_grad():
        model(torch.empty(shape, device="meta"))
    for h in hooks:
        h.remove()
    return io


# ---------------------------------------------------------------- the run

def _stride_int(stride: Any) -> Any:
    if isinstance(stride, (tuple, list)) and len(set(stride)) == 1:
        return int(stride[0])
    return stride


def _fmt(shapes) -> str:
    return " + ".join("x".join(map(str, s)) if s else "?" for s in shapes)


def run_model(spec: str, limit: int = 0) -> list[dict[str, Any]]:
    """All mutants of one model: ground truth at 64x64 on CPU, analysis at the default input."""
    import torch

    import shapecheck
    from shapecheck.load.build import build_model

    make, shape = factory(spec)
    meta = build_model(make).eval()
    cpu = build_model(make, device="cpu").eval()
    gt_shape = (1, shape[1], GROUND_TRUTH_SIDE, GROUND_TRUTH_SIDE)
    x = torch.randn(gt_shape)
    original_adds, error = record_adds(cpu, x)
    assert error is None, f"{spec} fails unmutated: {error}"
    baseline = shapecheck.check(meta, shape)
    assert baseline.ok, f"{spec} unmutated has findings: {baseline.errors}"
    io = block_io(meta, shape)
    leaves = leaf_outputs(meta, shape)
    widths = {p: width_layers(p, meta.get_submodule(p), io[p], leaves) for p in residual_blocks(meta)}
    rows = []
    plan = [(p, k) for p in residual_blocks(meta) for k in applicable(meta, p, widths[p])]
    if limit:
        plan = plan[:limit]
    for path, kind in plan:
        row: dict[str, Any] = {"model": spec, "block": path, "mutation": kind}
        exp = expected_fix(kind, meta.get_submodule(path), io[path], widths[path])
        m_cpu = copy.deepcopy(cpu)
        row["change"] = mutate(m_cpu, path, kind, widths[path])
        row["gt_bug"], row["gt_evidence"] = ground_truth(original_adds, m_cpu, x)
        del m_cpu
        m_meta = copy.deepcopy(meta)
        mutate(m_meta, path, kind, widths[path])
        start = time.perf_counter()
        try:
            report = shapecheck.check(m_meta, shape)
        except Exception as exc:  # an engine crash counts as a miss
            row.update(found=False, crash=f"{type(exc).__name__}: {exc}"[:200],
                       check_s=time.perf_counter() - start)
            rows.append(row)
            continue
        row["check_s"] = round(time.perf_counter() - start, 4)
        errors = report.errors
        inside = [f for f in errors if f.module == path or f.module.startswith(path + ".")]
        elsewhere = [f for f in errors if f not in inside]
        row["found"] = bool(inside)
        row["report_error"] = report.error.kind if report.error else ""
        row["expected_fix"] = "{} in {} out {} stride {}".format(*exp)
        if inside:
            f = inside[0]
            row.update(kind=f.kind, code=f.code, finding_module=f.module, shapes=_fmt(f.shapes))
            fix = f.fix
            row["fix_proposed"] = fix is not None
            row["fix"] = (f"{fix.kind} in {fix.in_channels} out {fix.out_channels} stride "
                          f"{_stride_int(fix.stride)}") if fix else ""
            wanted_layer = kind != "main_channels" or (
                bool(fix) and f"{path}.{widths[path][0]}" in fix.layers)
            row["fix_correct"] = bool(fix) and wanted_layer and (
                "resize" if fix.kind == "resize" else "projection", fix.in_channels,
                fix.out_channels, _stride_int(fix.stride)) == exp
            row["fix_verified"] = bool(fix) and fix.verified
        else:
            row.update(fix_proposed=False, fix_correct=False, fix_verified=False)
        row["elsewhere"] = len(elsewhere)
        # the same mutant at the ground-truth size, where eager mode sometimes broadcasts
        # silently (a stride-2 block on a 2x2 map): found statically there too?
        small = shapecheck.check(m_meta, gt_shape, fixes=False)
        row["found_small"] = any(f.module == path or f.module.startswith(path + ".")
                                 for f in small.errors)
        row["elsewhere_small"] = sum(1 for f in small.errors
                                     if not (f.module == path or f.module.startswith(path + ".")))
        row["elsewhere_findings"] = "; ".join(f"{f.kind}@{f.module} {_fmt(f.shapes)}"
                                              for f in elsewhere)
        rows.append(row)
    return rows


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} ({100 * n / d:.0f}%)" if d else "0/0"


def summarise(rows: list[dict[str, Any]], info: dict[str, Any], command: str, wall: float) -> str:
    real = [r for r in rows if r["gt_bug"]]
    found = [r for r in real if r.get("found")]
    out = ["# Mutation run: injected shortcut bugs", "", machine_line(info), "",
           f"Command: `{command}`; {len(rows)} mutants of {len({r['model'] for r in rows})} "
           f"models in {wall:.0f} s.", ""]
    out += [f"- Ground truth (real CPU forward at {GROUND_TRUTH_SIDE}x{GROUND_TRUTH_SIDE}): "
            f"{len(real)} of {len(rows)} mutants fail or broadcast wrongly.",
            f"- Recall (error finding at the mutated block): {_pct(len(found), len(real))}.",
            f"- Fix proposed: {_pct(sum(bool(r.get('fix_proposed')) for r in found), len(found))}; "
            f"correct (in/out/stride): {_pct(sum(bool(r.get('fix_correct')) for r in found), len(found))}; "
            f"verified: {_pct(sum(bool(r.get('fix_verified')) for r in found), len(found))}.",
            f"- Analysed again at the ground-truth size {GROUND_TRUTH_SIDE}x{GROUND_TRUTH_SIDE}: "
            f"found {_pct(sum(bool(r.get('found_small')) for r in real), len(real))}, of which "
            f"{sum(1 for r in real if r.get('found_small') and 'broadcasts' in r['gt_evidence'])} "
            f"are mutants that eager mode runs without any error (silent broadcast); "
            f"error findings elsewhere {sum(int(r.get('elsewhere_small') or 0) for r in rows)}.",
            f"- Mutants with error findings elsewhere (unrelated adds or layers): "
            f"{sum(1 for r in rows if r.get('elsewhere'))} ({sum(int(r.get('elsewhere') or 0) for r in rows)} findings).",
            ""]
    by: dict[tuple, list] = defaultdict(list)
    for r in rows:
        by[(r["model"], r["mutation"])].append(r)
    table = []
    for (model, kind), rs in by.items():
        real_k = [r for r in rs if r["gt_bug"]]
        hit = [r for r in real_k if r.get("found")]
        kinds = Counter(r.get("kind") for r in hit)
        table.append([model, kind, len(rs), len(real_k), _pct(len(hit), len(real_k)),
                      ", ".join(f"{k} {n}" for k, n in kinds.most_common()),
                      sum(bool(r.get("fix_proposed")) for r in hit),
                      sum(bool(r.get("fix_correct")) for r in hit),
                      sum(bool(r.get("fix_verified")) for r in hit),
                      sum(int(r.get("elsewhere") or 0) for r in rs)])
    out += [markdown_table(["model", "mutation", "mutants", "real bugs", "found", "finding kinds",
                            "fix proposed", "fix correct", "fix verified", "findings elsewhere"],
                           table), ""]
    misses = [r for r in real if not r.get("found")]
    wrong = [r for r in found if not (r.get("fix_correct") and r.get("fix_verified"))]
    noisy = [r for r in rows if r.get("elsewhere")]
    fake = [r for r in rows if not r["gt_bug"]]
    for title, sel, cols in (
            ("Missed", misses, ("model", "block", "change", "gt_evidence", "report_error", "crash")),
            ("Fix missing, wrong or unverified", wrong,
             ("model", "block", "change", "kind", "shapes", "fix", "expected_fix", "fix_verified")),
            ("Error findings elsewhere", noisy, ("model", "block", "change", "elsewhere_findings")),
            ("Mutants the real forward did not break (excluded)", fake,
             ("model", "block", "change", "gt_evidence"))):
        out += [f"## {title}: {len(sel)}", ""]
        if sel:
            out += [markdown_table(cols, [[str(r.get(c, "")).replace("|", "\\|") for c in cols]
                                          for r in sel]), ""]
    times = [r["check_s"] for r in rows if r.get("check_s") is not None]
    if times:
        out += [f"Analysis time per mutant: median {statistics.median(times):.3f} s, "
                f"max {max(times):.2f} s.", ""]
    return "\n".join(out)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--models", default="", help="comma-separated specs (resnet50, tv:X, timm:X)")
    parser.add_argument("--limit", type=int, default=0, help="mutants per model (0: all)")
    parser.add_argument("--out", default="mutate")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    ensure_path()
    import torch

    torch.manual_seed(0)
    specs = args.models.split(",") if args.models else (QUICK if args.quick else FULL)
    start = time.perf_counter()
    rows = []
    for spec in specs:
        t = time.perf_counter()
        got = run_model(spec, args.limit)
        rows += got
        print(f"{spec}: {len(got)} mutants, found {sum(bool(r.get('found')) for r in got)}, "
              f"{time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - start
    write_csv(RESULTS / f"{args.out}.csv", rows)
    command = ("python -m bench.mutate " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    text = summarise(rows, machine(), command, wall)
    (RESULTS / f"{args.out}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
