"""Short, readable names for layers: "conv 3x3/2, 128->128, g=32", "bn", "fc 512->1000".

Hyper-parameters are read from the traced module's submodules (or the original model)
by node target: reading attributes only, never calling or re-tracing anything.
"""

from __future__ import annotations

from typing import Any, Optional

from torch import nn

from shapecheck.report import NodeInfo, Report

# Functional spellings that a module of each kind may appear as under a non-fx tracer.
_FUNCTIONAL_HINTS: tuple[tuple[type, str], ...] = (
    (nn.modules.conv._ConvNd, "conv"),
    (nn.Linear, "linear"),
    (nn.modules.batchnorm._NormBase, "norm"),
    (nn.GroupNorm, "norm"),
    (nn.LayerNorm, "norm"),
    (nn.modules.pooling._MaxPoolNd, "pool"),
    (nn.modules.pooling._AvgPoolNd, "pool"),
    (nn.modules.pooling._AdaptiveAvgPoolNd, "pool"),
    (nn.modules.pooling._AdaptiveMaxPoolNd, "pool"),
)
_NORM_NAMES = {"BatchNorm1d": "bn", "BatchNorm2d": "bn", "BatchNorm3d": "bn", "SyncBatchNorm": "bn",
               "LayerNorm": "ln", "InstanceNorm1d": "in", "InstanceNorm2d": "in",
               "InstanceNorm3d": "in"}


def _dims(value: Any) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _spatial_dims(module: nn.Module) -> int:
    # MaxPool2d(3) keeps kernel_size=3: its class name says how many dims it spans
    name = type(module).__name__
    return int(name[-2]) if name[-2:] in ("1d", "2d", "3d") else 1


def _window(kernel: Any, stride: Any, dims: int = 1) -> str:
    """(3, 3), (2, 2) -> "3x3/2"; a stride of 1 is left out."""
    kernels = _dims(kernel)
    if len(kernels) == 1:
        kernels = kernels * dims
    text = "x".join(str(k) for k in kernels)
    strides = _dims(stride if stride is not None else 1)
    if any(s != 1 for s in strides):
        text += "/" + (str(strides[0]) if len(set(strides)) == 1 else "x".join(map(str, strides)))
    return text


def module_label(module: nn.Module) -> str:
    """A short label for one layer, with the hyper-parameters a reader needs.

    Example:
        >>> module_label(nn.Conv2d(128, 128, 3, stride=2, padding=1, groups=32))
        'conv 3x3/2, 128->128, g=32'
        >>> module_label(nn.Linear(512, 1000))
        'fc 512->1000'
    """
    name = type(module).__name__
    if isinstance(module, nn.modules.conv._ConvNd):
        kind = "convT" if module.transposed else "conv"
        dims = len(_dims(module.kernel_size))
        if dims != 2:
            kind += f"{dims}d"
        text = f"{kind} {_window(module.kernel_size, module.stride)}, "
        text += f"{module.in_channels}->{module.out_channels}"
        if module.groups > 1:
            depthwise = module.groups == module.in_channels == module.out_channels
            text += ", dw" if depthwise else f", g={module.groups}"
        if any(d != 1 for d in _dims(module.dilation)):
            text += f", d={_dims(module.dilation)[0]}"
        return text
    if isinstance(module, nn.Linear):
        return f"fc {module.in_features}->{module.out_features}"
    if name in _NORM_NAMES:
        return _NORM_NAMES[name]
    if isinstance(module, nn.GroupNorm):
        return f"gn {module.num_groups}"
    if isinstance(module, (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)):
        kind = "maxpool" if isinstance(module, nn.modules.pooling._MaxPoolNd) else "avgpool"
        return f"{kind} {_window(module.kernel_size, module.stride, _spatial_dims(module))}"
    if isinstance(module, (nn.modules.pooling._AdaptiveAvgPoolNd,
                           nn.modules.pooling._AdaptiveMaxPoolNd)):
        kind = "avgpool" if "Avg" in name else "maxpool"
        sizes = _dims(module.output_size)
        if all(s == 1 for s in sizes):
            return f"global {kind}"
        return f"{kind} ->" + "x".join("*" if s is None else str(s) for s in sizes)
    if isinstance(module, nn.modules.dropout._DropoutNd):
        return f"dropout {module.p:g}"
    return name.lower()


def find_module(report: Report, path: str, model_first: bool = False) -> Optional[nn.Module]:
    """The submodule at `path`, from the traced graph module first, else the original model
    (the other way round with `model_first`: the traced root is a GraphModule, not the
    user's class).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3))
        >>> module_label(find_module(Report("net", model=net), "0"))
        'conv 3x3, 3->8'
    """
    roots = (report.graph_module, report.model)
    if model_first:
        roots = roots[::-1]
    for root in roots:
        if root is None or not isinstance(root, nn.Module):
            continue
        try:
            return root.get_submodule(path)
        except (AttributeError, TypeError):
            continue
    return None


def class_name(report: Report, path: str) -> Optional[str]:
    """The class of the module at `path` ("BasicBlock"), or None for plain containers.

    fx keeps the submodules it calls but rebuilds their parents as bare `nn.Module`s, so the
    original model (when the report keeps it) is asked first.

    Example:
        >>> net = nn.Sequential(nn.Sequential(nn.ReLU()), nn.Identity())
        >>> class_name(Report("net", model=net), "0"), class_name(Report("net", model=net), "1")
        (None, 'Identity')
    """
    if not path:
        return None
    for root in (report.model, report.graph_module):
        if not isinstance(root, nn.Module):
            continue
        try:
            module = root.get_submodule(path)
        except (AttributeError, TypeError):
            continue
        if type(module) not in (nn.Module, nn.Sequential, nn.ModuleList):
            return type(module).__name__
    return None


def node_module(report: Report, node: NodeInfo) -> Optional[nn.Module]:
    """The layer a node runs: its call_module target, or (other tracers) its module path
    when that names a leaf layer of the matching kind ("conv2d" on a Conv2d)."""
    if node.op == "call_module":
        return find_module(report, node.target)
    if node.op not in ("call_function", "call_method"):
        return None
    module = find_module(report, node.module, model_first=True)
    if module is None or next(module.children(), None) is not None:
        return None
    target = node.target.lower()
    for kind, hint in _FUNCTIONAL_HINTS:
        if isinstance(module, kind) and hint in target:
            return module
    return None


def node_label(report: Report, node: NodeInfo) -> str:
    """The label of one traced node: a layer label, or the operation's readable name.

    Example:
        >>> from shapecheck.report import NodeInfo, Report
        >>> node_label(Report("m"), NodeInfo("x", "placeholder", "x", "", None, (), (1, 3, 8, 8)))
        'input x'
    """
    if node.op == "placeholder":
        return f"input {node.target}"
    if node.op == "output":
        return "output"
    if node.op == "get_attr":
        return f"param {node.target}"
    module = node_module(report, node)
    if module is not None:
        return module_label(module)
    if node.op == "call_module":  # the module could not be found: its last path component
        return node.target.rsplit(".", 1)[-1]
    return node.target.rsplit(".", 1)[-1]


def chain_text(labels: list[str], width: int = 44) -> list[str]:
    """Layer labels joined with " · " into lines of about `width` characters, repeats
    of one label collapsed to "label ×N".

    Example:
        >>> chain_text(["conv 1x1, 64->4"] * 32 + ["cat"])
        ['conv 1x1, 64->4 ×32 · cat']
    """
    parts: list[list[Any]] = []
    for label in labels:
        if parts and parts[-1][0] == label:
            parts[-1][1] += 1
        else:
            parts.append([label, 1])
    words = [label if n == 1 else f"{label} ×{n}" for label, n in parts]
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 3 + len(word) <= width:
            lines[-1] += " · " + word
        else:
            lines.append(word)
    return lines
