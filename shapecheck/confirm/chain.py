"""The chain of real runs behind `--confirm`: unfixed first, then one more fix each time.

Each run is compared node by node with the static shapes; each predicted error must show
up at its node (raised, or as a silent broadcast), and each fix must carry the next run
past its add. See confirm.py for the public entry point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import fx, nn
from torch.utils._pytree import tree_leaves

from shapecheck.load.frames import first_line
from shapecheck.confirm.device import is_out_of_memory
from shapecheck.confirm.run import (OutOfMemoryAt, Resolver, GraphRun, real_model,
                                    make_inputs, run_graph)
from shapecheck.analysis.fix import apply_fixes
from shapecheck.report import Finding, Report, Shape, format_shapes


@dataclass
class _Group:
    """The predicted errors at one graph node (usually one), and the fix to apply there."""

    node: Optional[str]
    findings: list[tuple[int, Finding]] = field(default_factory=list)

    @property
    def fixer(self) -> Optional[int]:
        """Index in report.findings of the first finding here with a fix."""
        return next((k for k, f in self.findings if f.fix is not None), None)


class Chain:
    """The sequence of real runs: unfixed, then with fixes added one error at a time."""

    def __init__(self, report: Report, device: torch.device, backward: bool):
        self.report = report
        self.device = device
        self.backward = backward
        self.gm: fx.GraphModule = report.graph_module
        self.original = {n.name for n in self.gm.graph.nodes}
        self.adds = {a.node: a for a in report.residual_adds}
        self.model: Optional[nn.Module] = None
        self.resolver: Optional[Resolver] = None
        self.inputs: list[torch.Tensor] = []
        self.compared = self.agree = self.errors_confirmed = self.fixes_confirmed = 0
        self.seen: set[str] = set()
        self.disagreements: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.error: Optional[str] = None
        self.runs = 0
        self.stage = "building the model"  # what was going on, for an out-of-memory message

    # -- set-up --------------------------------------------------------------------------

    def build(self, factory: Optional[Callable[[], nn.Module]]) -> None:
        """The real model and the random inputs, on the device."""
        t0 = time.perf_counter()
        self.model = real_model(self.report.model, factory, self.device)
        self.resolver = Resolver(self.model, self.device)
        self.stage = "creating the random inputs"
        placeholders = [n.name for n in self.gm.graph.nodes if n.op == "placeholder"]
        dtypes = [self._info(p).dtype if self._info(p) else None for p in placeholders]
        self.inputs = make_inputs(list(self.report.input_shapes), dtypes, self.model,
                                  self.device)
        self.stage = "running the model"
        self.events.append({"event": "build", "source": "factory" if factory else "report.model",
                            "seconds": round(time.perf_counter() - t0, 4)})

    def release(self) -> None:
        """Drop device tensors so that a following confirm (or an OOM retry) starts clean."""
        self.model = self.resolver = None
        self.inputs = []
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    # -- the chain -----------------------------------------------------------------------

    def run(self) -> None:
        groups = self._groups()
        fully_fixable = all(g.fixer is not None for g in groups)
        applied: list[int] = []
        result = self._run(self.gm, applied, grad=self.backward and not groups)
        for i, group in enumerate(groups):
            if not self._check_error(group, result):
                return
            fixer = group.fixer
            if fixer is None:
                f = group.findings[0][1]
                self._event("chain_stopped", group.node,
                            reason=f"{f.code} {f.kind} has no suggested fix; "
                                   "the fixed model cannot be run past it")
                return
            applied.append(fixer)
            try:
                patched = apply_fixes(self.gm, self.report,
                                      [self.report.findings[k] for k in applied])
            except Exception as exc:
                self._event("chain_stopped", group.node, finding=fixer,
                            reason=f"applying the fix failed: {type(exc).__name__}: {exc}")
                return
            last = i == len(groups) - 1
            result = self._run(patched, applied, grad=self.backward and last and fully_fixable)
            self._check_fix(fixer, group, patched, result)
        if result.completed:
            self._event("completed", None, run=self.runs - 1, fixes=list(applied))
            if self.backward:
                self._backward(result)
        else:
            self._unexpected(result)

    def note_coverage(self) -> None:
        """Say which predicted nodes no run reached (after a stop, or an OOM)."""
        missing = [name for name, info in self.report.nodes.items()
                   if name not in self.seen and (info.shape is not None or info.shapes)]
        if missing:
            self._event("not_compared", None, count=len(missing), nodes=missing[:10],
                        reason="no real run reached these nodes with a known predicted shape")

    def _groups(self) -> list[_Group]:
        """Predicted errors in the order the real run meets them (graph order)."""
        order = {n.name: i for i, n in enumerate(self.gm.graph.nodes)}
        errors = [(k, f) for k, f in enumerate(self.report.findings) if f.is_error]
        errors.sort(key=lambda kf: order.get(kf[1].node, len(order)))
        groups: list[_Group] = []
        for k, f in errors:
            if groups and f.node is not None and groups[-1].node == f.node:
                groups[-1].findings.append((k, f))
            else:
                groups.append(_Group(f.node, [(k, f)]))
        return groups

    def _run(self, gm: fx.GraphModule, applied: list[int], grad: bool) -> GraphRun:
        result = run_graph(gm, self.resolver, self.inputs, grad=grad)
        self._compare(result)
        self.events.append({
            "event": "run", "run": self.runs, "fixes": list(applied),
            "completed": result.completed, "failed_at": result.failed_at,
            "seconds": round(result.seconds, 4)})
        self.runs += 1
        if result.out_of_memory is not None:  # not a shape verdict: stop with advice
            raise result.out_of_memory
        if not (grad and result.completed):
            result.output = None  # free the activations now; only a backward needs them
        return result

    def _check_error(self, group: _Group, result: GraphRun) -> bool:
        """Confirm the group's predicted error(s) on `result`; False stops the chain."""
        node = group.node
        if node is not None and result.failed_at == node:
            self.errors_confirmed += len(group.findings)
            for k, _ in group.findings:
                self._event("error_confirmed", node, finding=k, how="raised",
                            run=self.runs - 1, message=_first_line(result.failure))
            return True
        if node is not None and node in result.shapes:  # it ran: a silent broadcast?
            main, short, out = self._operand_shapes(node, self.gm, result)
            silent = main is not None and (main != short or out != main)
            for k, _ in group.findings:
                if silent:
                    self.errors_confirmed += 1
                    self._event("error_confirmed", node, finding=k, how="broadcast",
                                run=self.runs - 1, shapes=[_json_shapes(main), _json_shapes(short)], output=_json_shapes(out),
                                message=f"no exception: {format_shapes(main)} + "
                                        f"{format_shapes(short)} silently broadcast to "
                                        f"{format_shapes(out)}")
                else:
                    self._event("error_not_confirmed", node, finding=k, run=self.runs - 1,
                                reason="the real run went through this node without error",
                                shapes=[_json_shapes(main), _json_shapes(short)], output=_json_shapes(out))
            return True
        if result.failed_at is not None:  # failed before reaching the predicted error
            for k, _ in group.findings:
                self._event("error_not_confirmed", node, finding=k, run=self.runs - 1,
                            reason=f"the real run failed earlier, at {result.failed_at}")
            self._unexpected(result)
            return False
        for k, _ in group.findings:  # completed without meeting the node at all
            self._event("error_not_confirmed", node, finding=k, run=self.runs - 1,
                        reason="the predicted node is not in the traced graph")
        return True

    def _check_fix(self, k: int, group: _Group, patched: fx.GraphModule,
                   result: GraphRun) -> None:
        """A fix is confirmed when the run with it went past its add, shapes now equal."""
        node = group.node
        if node is None or node not in result.shapes:
            where = f"failed at {result.failed_at}" if result.failed_at else "never reached it"
            self._event("fix_not_confirmed", node, finding=k, run=self.runs - 1,
                        reason=f"the run with the fix {where}")
            return
        main, short, out = self._operand_shapes(node, patched, result)
        if main is None or (main == short and out == main):
            self.fixes_confirmed += 1
            self._event("fix_confirmed", node, finding=k, run=self.runs - 1, output=_json_shapes(out))
        else:
            self._event("fix_not_confirmed", node, finding=k, run=self.runs - 1,
                        reason="the add still combines different shapes",
                        shapes=[_json_shapes(main), _json_shapes(short)], output=_json_shapes(out))

    def _operand_shapes(self, node: str, gm: fx.GraphModule, result: GraphRun):
        """Real (main, shortcut, output) shapes of residual add `node` in `result`; main is
        None when `node` is not a residual add."""
        add = self.adds.get(node)
        graph_node = next((n for n in gm.graph.nodes if n.name == node), None)
        if add is None or graph_node is None:
            return None, None, result.shape(node)
        operands = [a for a in (*graph_node.args, graph_node.kwargs.get("other"))
                    if isinstance(a, fx.Node)]
        if len(operands) < 2:
            return None, None, result.shape(node)
        main_node = operands[add.main_operand]
        short_node = operands[1 - add.main_operand]
        return result.shape(main_node.name), result.shape(short_node.name), result.shape(node)

    def _backward(self, result: GraphRun) -> None:
        t0 = time.perf_counter()
        leaves = [t for t in tree_leaves(result.output)
                  if isinstance(t, torch.Tensor) and t.requires_grad]
        if not leaves:
            self._event("backward", None, ok=False, reason="the output does not require grad")
            return
        try:
            sum(t.float().sum() for t in leaves).backward()
        except Exception as exc:
            if is_out_of_memory(exc):
                raise OutOfMemoryAt("the backward pass", exc) from exc
            self.error = f"backward pass failed: {type(exc).__name__}: {exc}"
            self._event("backward", None, ok=False, reason=_first_line(exc))
            return
        finally:
            result.output = None
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        modules = [self.model, *self.resolver.materialised()]
        with_grad = sum(p.grad is not None for m in modules for p in m.parameters())
        self._event("backward", None, ok=True, parameters_with_grad=with_grad,
                    seconds=round(time.perf_counter() - t0, 4))

    # -- node-by-node comparison ---------------------------------------------------------

    def _compare(self, result: GraphRun) -> None:
        """Compare each node the first time a run executes it (so a node after a raising
        error is compared in the run where that error is fixed, as the static pass assumed).
        Inserted fix nodes are not in the report and are skipped."""
        for name, real in result.shapes.items():
            info = self._info(name)
            if name in self.seen or name not in self.original or info is None or not real:
                continue
            static = _static_shapes(info)
            if static is None:
                continue
            self.seen.add(name)
            self.compared += 1
            if static == real:
                self.agree += 1
            else:
                self.disagreements.append({**self._where(name), "static": _json_shapes(static),
                                           "real": _json_shapes(real)})

    def _unexpected(self, result: GraphRun) -> None:
        """The real run failed at a node where no error was predicted."""
        name = result.failed_at
        info = self._info(name)
        static = _static_shapes(info) if info is not None else None
        if static is not None and name not in self.seen:
            self.seen.add(name)
            self.compared += 1
            self.disagreements.append({**self._where(name), "static": _json_shapes(static),
                                       "real": None, "error": _first_line(result.failure)})
        self._event("unexpected_failure", name, run=self.runs - 1,
                    message=_first_line(result.failure))

    # -- helpers -------------------------------------------------------------------------

    def _info(self, name: Optional[str]):
        return self.report.nodes.get(name) if name is not None else None

    def _where(self, name: Optional[str]) -> dict[str, Any]:
        info = self._info(name)
        return {"node": name, "module": info.module if info else None,
                "location": str(info.location) if info and info.location else None}

    def where_text(self, name: Optional[str]) -> str:
        """"node add_3 (module layer2.0, model.py:42)" for messages."""
        if name is None:
            return "an unknown node"
        if self._info(name) is None:  # not a graph node ("the backward pass")
            return name
        where = self._where(name)
        extra = f", {where['location']}" if where["location"] else ""
        return f"node {name} (module {where['module'] or '<top>'}{extra})"

    def _event(self, kind: str, node: Optional[str], **details: Any) -> None:
        entry: dict[str, Any] = {"event": kind}
        if node is not None:
            entry.update(self._where(node))
        entry.update(details)
        self.events.append(entry)


def _static_shapes(info) -> Optional[tuple[Shape, ...]]:
    """A node's predicted tensor shapes, in the form `GraphRun.shapes` holds real ones:
    all of `NodeInfo.shapes`, else its single `shape`; None when unknown."""
    if info.shapes:
        return tuple(tuple(int(d) for d in s) for s in info.shapes)
    if info.shape is not None:
        return (tuple(int(d) for d in info.shape),)
    return None


def _json_shapes(shape: Any) -> Any:
    """JSON form: a list for one shape, a list of lists for several (None stays None)."""
    if shape is None:
        return None
    if shape and isinstance(shape[0], (tuple, list)):
        return list(shape[0]) if len(shape) == 1 else [list(s) for s in shape]
    return list(shape)


def _first_line(exc: Optional[BaseException]) -> Optional[str]:
    """`TypeName: first line`, the form a real run's failure is reported in."""
    if exc is None:
        return None
    text = str(exc).strip()
    return f"{type(exc).__name__}: {first_line(exc) if text else ''}"


