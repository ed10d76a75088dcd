"""`--confirm` for Keras: build the model for real on the torch backend and run it once.

The static pass built the model with weights on the meta device. Here it is built again
with real weights on the confirm device (CUDA when available), from the user's builder, or,
for a model instance, by `keras.models.clone_model` (same layer names), and every layer
call of its functional graph runs in order on a random input; each call's real output
shape is compared with the Report's node of the same name.

A model with a mismatched merge cannot be built for real: Keras raises at the first `Add()`
while the model is constructed (no layer runs). That exception is the real-world check of
the first predicted error: it is confirmed when Keras names the same operand shapes, and
the Confirmation says plainly that the rest cannot be run.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import replace
from typing import Any, Optional

import torch

from shapecheck.confirm.device import (describe_device, is_out_of_memory,
                                       out_of_memory_message, peak_memory_bytes,
                                       reset_peak_memory, resolve_device)
from shapecheck.keras.backend import import_keras
from shapecheck.keras.graph import read_graph
from shapecheck.keras.record import is_user_path
from shapecheck.load.frames import display_path, first_line
from shapecheck.report import Confirmation, Report, format_shapes


def confirmed_keras(report: Report, factory: Any, *, device: str | torch.device = "auto") -> Report:
    """A new Report: `report` with the Confirmation of one real run of the Keras model.

    `factory` is the builder the Report came from (a no-argument function) or the
    `keras.Model` itself. Problems while building or running land in the Confirmation's
    events and `error`, never raised (`ConfirmError` only for an unusable device).

    Example:
        >>> import keras  # doctest: +SKIP
        >>> from shapecheck.keras import check_keras  # doctest: +SKIP
        >>> def build():  # doctest: +SKIP
        ...     x = keras.Input((8, 8, 3))
        ...     return keras.Model(x, keras.layers.Conv2D(4, 3)(x))
        >>> conf = confirmed_keras(check_keras(build), build, device="cpu").confirm  # doctest: +SKIP
        >>> conf.nodes_compared, conf.nodes_agree  # doctest: +SKIP
        (2, 2)
    """
    return replace(report, confirm=keras_confirmation(report, factory, device=device))


def keras_confirmation(report: Report, factory: Any, *,
                       device: str | torch.device = "auto") -> Confirmation:
    """Run the Keras model of `report` for real and compare every layer's output shape."""
    dev = resolve_device(device)
    keras = import_keras()
    run = _KerasRun(report, dev)
    start = time.perf_counter()
    reset_peak_memory(dev)
    try:
        with torch.random.fork_rng(devices=[dev.index] if dev.type == "cuda" else []):
            torch.manual_seed(0)
            model = run.build(keras, factory)
            if model is not None:
                run.run(keras, model)
    except Exception as exc:  # a run problem is reported, never a crash
        run.error = (out_of_memory_message(dev, report.input_shapes, run.stage)
                     if is_out_of_memory(exc) else
                     f"confirm failed: {type(exc).__name__}: {first_line(exc)}")
    finally:
        if dev.type == "cuda":
            torch.cuda.empty_cache()
    return Confirmation(device=describe_device(dev), nodes_compared=run.compared,
                        nodes_agree=run.agree, predicted_errors=len(report.errors),
                        errors_confirmed=run.errors_confirmed, fixes_confirmed=0,
                        seconds=time.perf_counter() - start,
                        peak_memory_bytes=peak_memory_bytes(dev),
                        disagreements=run.disagreements, events=run.events, error=run.error)


class _KerasRun:
    """The bookkeeping of one real build and run (counts, events, disagreements)."""

    def __init__(self, report: Report, device: torch.device):
        self.report, self.device = report, device
        self.compared = self.agree = self.errors_confirmed = 0
        self.events: list[dict[str, Any]] = []
        self.disagreements: list[dict[str, Any]] = []
        self.error: Optional[str] = None
        self.stage = "building the model"

    def build(self, keras: Any, factory: Any) -> Any:
        """The model with real weights on the device, or None when Keras refused to build
        it (recorded as the confirmation, or refutation, of the first predicted error)."""
        t0 = time.perf_counter()
        keras.backend.clear_session()  # the same layer names as the static build
        try:
            with keras.device(_keras_device(self.device)):
                if isinstance(factory, keras.Model):
                    from keras.src.saving.serialization_lib import SafeModeScope

                    # the user's own in-memory model: its Lambda functions may be cloned
                    with SafeModeScope(False):
                        model = keras.models.clone_model(factory)
                else:
                    model = factory()
        except Exception as exc:  # Keras raises at the first mismatched merge
            if is_out_of_memory(exc):
                raise
            self._refused(exc)
            return None
        self.events.append({"event": "build", "source": "clone" if isinstance(
            factory, keras.Model) else "factory", "parameters": int(model.count_params()),
            "seconds": round(time.perf_counter() - t0, 4)})
        return model

    def run(self, keras: Any, model: Any) -> None:
        """Every layer call in dataflow order on real tensors; compare each output shape."""
        self.stage = "running the model"
        graph = read_graph(model)
        values: dict[int, Any] = {}
        t0 = time.perf_counter()
        with keras.device(_keras_device(self.device)), torch.no_grad():
            # a clone names its inputs afresh: they are matched by position
            static_inputs = [n for n, info in self.report.nodes.items() if info.op == "placeholder"]
            for name, static, shape in zip(graph.inputs, static_inputs, self.report.input_shapes):
                tensor = torch.randn(tuple(shape), device=self.device)
                values[id(graph[name].node.outputs[0])] = tensor
                self._compare(static, tuple(tensor.shape))
            for name, call in graph.calls.items():
                if call.is_input:
                    continue
                args, kwargs = call.node.arguments.fill_in(values)
                try:
                    outputs = call.layer(*args, **kwargs)
                except Exception as exc:
                    if is_out_of_memory(exc):
                        self.stage = f"running layer {name}"
                        raise
                    self._unexpected(name, exc)
                    return
                flat = keras.tree.flatten(outputs)
                for old, new in zip(call.node.outputs, flat):
                    values[id(old)] = new
                if flat and hasattr(flat[0], "shape"):
                    self._compare(name, tuple(int(d) for d in flat[0].shape))
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.events.append({"event": "run", "run": 0, "fixes": [], "completed": True,
                            "failed_at": None, "seconds": round(time.perf_counter() - t0, 4)})
        self.events.append({"event": "completed", "run": 0, "fixes": []})

    # -- outcomes --------------------------------------------------------------------------

    def _compare(self, name: str, real: tuple) -> None:
        info = self.report.nodes.get(name)
        if info is None or info.shape is None:
            return
        self.compared += 1
        if tuple(info.shape) == real:
            self.agree += 1
        else:
            self.disagreements.append({**self._where(name), "static": list(info.shape),
                                       "real": list(real)})

    def _refused(self, exc: BaseException) -> None:
        """Keras raised while building: the first predicted error, or a surprise."""
        message = f"{type(exc).__name__}: {first_line(exc)}"
        where = _user_line(exc)
        errors = self.report.errors
        first = errors[0] if errors else None
        if first is not None and _names_shapes(message, first.shapes):
            self.errors_confirmed = 1
            self.events.append({"event": "error_confirmed", **self._where(first.node),
                                "finding": self.report.findings.index(first), "how": "raised",
                                "run": 0, "message": message})
            rest = len(errors) - 1
            self.events.append({"event": "chain_stopped", **self._where(first.node),
                                "reason": (
                f"a Keras model with a mismatched merge cannot be built for real: Keras "
                f"raised at {where or first.node} while constructing it, at the first of the "
                f"predicted errors only ({format_shapes(first.shapes[0])} vs "
                f"{format_shapes(first.shapes[1])}); no layer ran, so no shape was compared"
                + (f" and the other {rest} predicted error{'s' if rest > 1 else ''} cannot be "
                   f"run" if rest else "") + "; apply the fix and confirm again")})
            return
        self.events.append({"event": "unexpected_failure", "node": None, "module": None,
                            "location": where, "run": 0, "message": message})
        self.error = (f"the Keras model cannot be built for real: Keras raised {message}"
                      + (f" at {where}" if where else "")
                      + ("" if first is None else
                         f", not the predicted {first.code} at {first.node}"))

    def _unexpected(self, name: str, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {first_line(exc)}"
        info = self.report.nodes.get(name)
        if info is not None and info.shape is not None:
            self.compared += 1
            self.disagreements.append({**self._where(name), "static": list(info.shape),
                                       "real": None, "error": message})
        self.events.append({"event": "unexpected_failure", **self._where(name), "run": 0,
                            "message": message})

    def _where(self, name: Optional[str]) -> dict[str, Any]:
        info = self.report.nodes.get(name) if name else None
        return {"node": name, "module": info.module if info else None,
                "location": str(info.location) if info and info.location else None}


def _keras_device(device: torch.device) -> str:
    return f"cuda:{device.index or 0}" if device.type == "cuda" else "cpu"


def _names_shapes(message: str, shapes: tuple) -> bool:
    """Keras quotes the operand shapes without the batch dim: "(28, 28, 512)"."""
    texts = [str(tuple(s[1:])) for s in shapes if s]
    return len(texts) == 2 and all(text in message for text in texts)


def _user_line(exc: BaseException) -> Optional[str]:
    """"homework.py:55" for the innermost user frame of the exception's traceback."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if is_user_path(f.filename)]
    return f"{display_path(frames[-1].filename)}:{frames[-1].lineno}" if frames else None


__all__ = ["confirmed_keras", "keras_confirmation"]
