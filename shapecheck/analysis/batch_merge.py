"""A layer fed by a flatten that swallowed the batch: `torch.flatten(x)` without
`start_dim`, `x.flatten()`, `x.view(-1)` or `x.reshape(-1)`.

With one example the classifier still gets its features (a 1-D input is one sample to
`nn.Linear`); with two it gets twice as many and fails. The hint names the call and the
spelling that keeps the batch.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.fx as fx

from shapecheck.messages import text
from shapecheck.report import Shape


def merged_batch_hint(node: fx.Node, got: Optional[Shape],
                      lang: Optional[str] = None) -> Optional[str]:
    """The sentence to add when `node`'s 1-D input comes from a flatten over the batch.

    Example:
        >>> import torch.nn as nn
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = nn.Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.fc(torch.flatten(x))
        >>> gm = fx.symbolic_trace(Net())
        >>> fc = next(n for n in gm.graph.nodes if n.target == "fc")
        >>> merged_batch_hint(fc, (16,), "en")
        'torch.flatten(x) without start_dim flattens the batch too: write torch.flatten(x, 1)'
    """
    if got is None or len(got) != 1 or not node.args or not isinstance(node.args[0], fx.Node):
        return None
    source = node.args[0]
    call = _merging_call(source)
    if call is None:
        return None
    return text("layer.batch_flattened", lang, call=call[0], fix=call[1])


def _merging_call(node: fx.Node) -> Optional[tuple[str, str]]:
    """(the call as written, the call that keeps the batch) for a batch-merging flatten."""
    args, kwargs = node.args[1:], node.kwargs
    if node.op == "call_function" and node.target is torch.flatten or \
            node.op == "call_method" and node.target == "flatten":
        start = kwargs.get("start_dim", args[0] if args else 0)
        if start != 0:
            return None
        if node.op == "call_function":
            return "torch.flatten(x) without start_dim", "torch.flatten(x, 1)"
        return "x.flatten() without start_dim", "x.flatten(1)"
    flat = list(args) == [-1] or (len(args) == 1 and args[0] in ((-1,), [-1]))
    if node.op == "call_method" and node.target in ("view", "reshape") and flat:
        return f"x.{node.target}(-1)", f"x.{node.target}(x.size(0), -1)"
    return None


__all__ = ["merged_batch_hint"]
