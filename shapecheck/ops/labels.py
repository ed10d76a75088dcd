"""What a layer is called and how it was built: "conv 3x3/2, 128->128, g=32", "Conv2d",
{"kernel_size": (3, 3), "stride": (2, 2), ...}.

Read once, when the Report is assembled, from the traced graph module or the original
model, so that renderers, reporters and exercises read plain fields of the Report (and a
Report read back from JSON draws the same) instead of reaching into live modules.
Attributes are only read: nothing is called or traced.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from torch import nn

from shapecheck.ops.families import family_of

# Containers say nothing about what a block is: fx rebuilds parents as bare nn.Modules.
_CONTAINERS = (nn.Module, nn.Sequential, nn.ModuleList)
_PLAIN = (bool, int, float, str, type(None))


def module_label(module: nn.Module) -> str:
    """A short label for one layer, with the hyper-parameters a reader needs: its family's
    label (ops/families.py), else its class name in lower case.

    Example:
        >>> module_label(nn.Conv2d(128, 128, 3, stride=2, padding=1, groups=32))
        'conv 3x3/2, 128->128, g=32'
        >>> module_label(nn.Linear(512, 1000))
        'fc 512->1000'
    """
    family = family_of(module)
    return family.label(module) if family is not None else type(module).__name__.lower()


def _plain(value: Any) -> Any:
    """`value` if JSON can hold it (a list as a tuple, as JSON gives it back), else None."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, (tuple, list)) and all(isinstance(v, _PLAIN) for v in value):
        return tuple(value)
    return None


def layer_args(module: nn.Module) -> dict[str, Any]:
    """The constructor hyper-parameters of a layer, as JSON values (sequences as tuples).

    torch lists them in each layer class's `__constants__` (kernel_size, stride, padding,
    groups, in/out channels for a conv; in/out features for a linear; eps, num_features for
    a norm); convs and linears also say whether they have a `bias`.

    Example:
        >>> args = layer_args(nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False))
        >>> [args[k] for k in ("in_channels", "out_channels", "kernel_size", "stride", "bias")]
        [64, 128, (3, 3), (2, 2), False]
        >>> layer_args(nn.Linear(512, 10))
        {'in_features': 512, 'out_features': 10, 'bias': True}
    """
    args: dict[str, Any] = {}
    for name in getattr(type(module), "__constants__", ()):
        value = _plain(getattr(module, name, None))
        if value is not None:
            args[name] = value
    if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
        args["bias"] = module.bias is not None
    return args


def find_module(roots: Iterable[Any], path: str) -> Optional[nn.Module]:
    """The submodule at `path` of the first root (an `nn.Module`; others are skipped)
    that has one.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3))
        >>> module_label(find_module([None, net], "0"))
        'conv 3x3, 3->8'
    """
    for root in roots:
        if not isinstance(root, nn.Module):
            continue
        try:
            return root.get_submodule(path)
        except (AttributeError, TypeError):
            continue
    return None


def class_name(roots: Iterable[Any], path: str) -> Optional[str]:
    """The class of the module at `path` ("BasicBlock"), or None for plain containers and
    the top level. Roots are asked in order; fx keeps the submodules it calls but rebuilds
    their parents as bare `nn.Module`s, so pass the original model first.

    Example:
        >>> net = nn.Sequential(nn.Sequential(nn.ReLU()), nn.Identity())
        >>> class_name([net], "0"), class_name([net], "1")
        (None, 'Identity')
    """
    if not path:
        return None
    for root in roots:
        module = find_module([root], path)
        if module is not None and type(module) not in _CONTAINERS:
            return type(module).__name__
    return None


def runs_layer(module: Optional[nn.Module], target: str) -> bool:
    """True when a function or method node named `target` ("conv2d") is the work of the
    leaf layer `module` it was recorded in (a non-fx tracer records layers as functions).

    Example:
        >>> runs_layer(nn.Conv2d(3, 8, 3), "conv2d"), runs_layer(nn.Conv2d(3, 8, 3), "relu")
        (True, False)
    """
    if module is None or next(module.children(), None) is not None:
        return False
    target = target.lower()
    family = family_of(module)  # each family names the hint its functional form carries
    return family is not None and bool(family.hint) and family.hint in target
