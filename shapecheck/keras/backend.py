"""Importing Keras 3 on the torch backend, or saying clearly why it cannot be."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

INSTALL_HINT = ("install the Keras extra: pip install 'shapecheck[keras]' (Keras 3 on the "
                "torch backend; TensorFlow is not needed)")


class KerasUnavailable(RuntimeError):
    """Keras 3 cannot be imported on a backend shapecheck reads (the message says why)."""


def keras_available() -> bool:
    """True when the `keras` package is installed (it is not imported). A folder named
    `keras` without `__init__.py` on `sys.path` (such as `examples/keras/`) is a namespace
    package, not Keras.

    >>> isinstance(keras_available(), bool)
    True
    """
    spec = importlib.util.find_spec("keras")
    return spec is not None and spec.origin is not None


def import_keras() -> Any:
    """The `keras` module on the torch backend (the default; a user's explicit choice stays).

    Raises:
        KerasUnavailable: Keras is missing, is not Keras 3, or runs on another backend.

    Example:
        >>> keras = import_keras()  # doctest: +SKIP
        >>> keras.backend.backend()  # doctest: +SKIP
        'torch'
    """
    if not keras_available():
        raise KerasUnavailable(f"this file uses Keras, which is not installed: {INSTALL_HINT}")
    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError as exc:  # e.g. KERAS_BACKEND=tensorflow without TensorFlow
        raise KerasUnavailable(
            f"importing keras failed ({exc}); run with KERAS_BACKEND=torch") from exc
    version = getattr(keras, "__version__", "0")
    if not version.startswith("3."):
        raise KerasUnavailable(f"keras {version} is not Keras 3: {INSTALL_HINT}")
    if keras.backend.backend() != "torch":
        raise KerasUnavailable(
            f"keras runs on the {keras.backend.backend()} backend; shapecheck reads Keras "
            f"models on the torch backend: run with KERAS_BACKEND=torch")
    return keras
