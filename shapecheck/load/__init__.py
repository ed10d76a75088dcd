"""Stage 1, load: from a command-line target to built models and example inputs.

`targets` imports the user's file and discovers what it offers, `declared` reads the
inputs it declares (or `--input`), `build` constructs each model cheaply (meta first),
`inputs` makes the example tensors, and `frames` turns a failure into the user's file
and line. `execute` runs the file (definitions only, see `toplevel`) offline (`offline`),
under a time limit (`limits`); `notebook` reads `.ipynb` files.
"""

from shapecheck.load.declared import (Inputs, InputSpecError, example_tensor, normalize_inputs,
                                      parse_shape)
from shapecheck.load.frames import (describe_exception, display_path, exception_location,
                                    format_traceback, is_user_file)
from shapecheck.load.targets import (FACTORY_NAMES, FACTORY_PREFIXES, Definition, FileTally,
                                     LoadedTarget,
                                     discover, import_file, load_targets, parse_target,
                                     top_level_definitions)

__all__ = ["Inputs", "InputSpecError", "example_tensor", "normalize_inputs", "parse_shape",
           "describe_exception", "display_path", "exception_location", "format_traceback",
           "is_user_file", "FACTORY_NAMES", "FACTORY_PREFIXES", "Definition", "FileTally",
           "LoadedTarget",
           "discover", "import_file", "load_targets", "parse_target", "top_level_definitions"]
