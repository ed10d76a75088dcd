"""Confirmation: run the model for real (CUDA, else CPU) and compare, node by node, with
what the static analysis predicted. It reads a finished Report and returns a new one.
"""

from shapecheck.confirm.compare import confirm_report, confirmed
from shapecheck.confirm.device import ConfirmError, describe_device, resolve_device

__all__ = ["confirmed", "confirm_report", "ConfirmError", "describe_device", "resolve_device"]
