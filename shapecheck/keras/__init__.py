"""A Keras 3 front end: Keras's own functional graph, read natively, into the same Report.

`check_keras(model_or_builder)` reads a `keras.Model` (functional or `Sequential`), or runs a
function that builds one from `keras.Input`, while `record.recording()` notes each layer's
call site and turns a mismatched merge into a recorded failure instead of an exception, so
every mismatch is found in one pass. The residual adds, findings (the usual SC1xx/SC2xx
codes, channel-last wording, causes in Keras layer names) and fixes (a Keras projection,
the call-site edit `conv_shortcut=False` -> `True`), each verified by rebuilding, end in one
`Report` that the text/JSON/SARIF reporters and the block graph read. Keras runs on the
torch backend, symbolically, with weights on the meta device: nothing is computed.

Importing this package does not import Keras; `hook` registers the front end with `load`.
"""

from shapecheck.keras.backend import KerasUnavailable, keras_available

__all__ = ["KerasUnavailable", "keras_available", "check_keras"]


def check_keras(*args, **kwargs):
    """`shapecheck.keras.check.check_keras` (imported on first use: it imports Keras)."""
    from shapecheck.keras.check import check_keras as check

    return check(*args, **kwargs)
