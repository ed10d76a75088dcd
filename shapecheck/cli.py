"""`shapecheck [OPTIONS] TARGET...`: check models from the command line (see cli-contract.md).

    $ shapecheck examples/keras_resnext.py:build --input 1,3,224,224
    $ shapecheck models/ --format json --output report.json
    $ shapecheck exercises list

Exit status: 0 clean, 1 a finding of severity error, 2 a usage error or a target that could
not be loaded, built or analysed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import traceback
from typing import Any, Optional, Sequence

from shapecheck.reporters import FORMATS

SUBCOMMANDS = ("exercises", "quiz")
DETAILS = ("blocks", "layers", "ops")


class UsageError(Exception):
    """A mistake on the command line or in the configuration: exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `shapecheck` command."""
    parser = argparse.ArgumentParser(
        prog="shapecheck",
        description="Find shape bugs in residual networks before they run: every residual "
                    "add is checked, explained and fixed.",
        epilog="Subcommands: 'shapecheck exercises ...' and 'shapecheck quiz ...' run the "
               "teaching exercises. Exit status: 0 clean, 1 errors found, 2 usage error or "
               "a target that could not be analysed.")
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help="path/to/file.py, path/to/file.py:NAME, or a directory")
    parser.add_argument("--input", action="append", metavar="SHAPE", default=None,
                        help="example input shape, e.g. 1,3,224,224 or 1x3x224x224 "
                             "(append :long etc. for a dtype); repeat for several inputs. "
                             "Default: the file's INPUT_SHAPE, else one read off the first "
                             "layer with a batch of 2")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="output format (default text)")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write the report to FILE (atomically) instead of standard output")
    parser.add_argument("--html", metavar="PATH",
                        help="also write the HTML report (one self-contained page) to PATH, "
                             "beside the --format output")
    parser.add_argument("--graph", metavar="PATH",
                        help="write the annotated block graph (.dot, .svg, .png, .pdf); with "
                             "several models one file per model, named after it")
    parser.add_argument("--detail", choices=DETAILS, default=None,
                        help="graph detail (default blocks)")
    parser.add_argument("--sizes", nargs="?", const="", default=None, metavar="RANGE",
                        help="print the valid input sizes, proved: H and W over [1, inf), "
                             "or 32..2048, or H=32..512,W=64.. (with a range every failing "
                             "size class in it is an error); by default the proof runs "
                             "quietly and warns (SC105) only about resolution-dependent adds")
    parser.add_argument("--no-sizes", action="store_true",
                        help="do not prove input sizes (no SC105)")
    parser.add_argument("--confirm", action="store_true",
                        help="run the model for real after the static pass and compare")
    parser.add_argument("--device", default=None, metavar="auto|cpu|cuda",
                        help="device for --confirm (default auto: CUDA when available)")
    parser.add_argument("--backward", action="store_true",
                        help="with --confirm, also run one backward pass")
    parser.add_argument("--exec", action="store_true", dest="run_all",
                        help="run each file whole; by default only its imports, definitions "
                             "and assignments run, never top-level training code")
    parser.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                        help="time limit per target (default 120; 0: none)")
    parser.add_argument("--select", action="append", default=None, metavar="CODES",
                        help="report only these codes or prefixes, e.g. SC1,SC201")
    parser.add_argument("--ignore", action="append", default=None, metavar="CODES",
                        help="do not report these codes or prefixes")
    parser.add_argument("--diff", action="store_true",
                        help="print each finding's fix as a verified edit of your source "
                             "(unified diff; the exit status is as without it)")
    parser.add_argument("--fix", action="store_true",
                        help="apply the safe source fixes in place (parameters unchanged)")
    parser.add_argument("--unsafe-fixes", action="store_true",
                        help="with --fix, also apply fixes that change parameters")
    parser.add_argument("--list-codes", action="store_true", help="list the finding codes")
    parser.add_argument("-q", "--quiet", action="store_true", help="findings only")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="per-block table and tracebacks of failures; -vv: every node")
    parser.add_argument("--no-color", action="store_true", help="plain text, no colours")
    parser.add_argument("--lang", choices=("en", "zh"), default=None,
                        help="language of messages (default from SHAPECHECK_LANG / locale)")
    parser.add_argument("--no-config", action="store_true",
                        help="ignore [tool.shapecheck] in pyproject.toml")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


def _seconds(text: str) -> float:
    """A --timeout value: a non-negative number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"{text!r}: give 0 (no limit) or more seconds")
    return value


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status (0, 1 or 2).

    Example:
        >>> main(["--version"])  # doctest: +SKIP
        shapecheck 0.1.0 (torch 2.13.0+cpu)
        0
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in SUBCOMMANDS:
        return _run_subcommand(args_list)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    try:
        return _run(args)
    except UsageError as exc:
        _error(str(exc))
        return 2
    except KeyboardInterrupt:
        _error("interrupted")
        return 2
    except BrokenPipeError:  # `shapecheck ... | head`: the reader left, nothing to say
        _silence_stdout()
        return 2
    except Exception as exc:  # a bug in shapecheck: say so in one line, details with -v
        if args.verbose:
            traceback.print_exc()
        _error(f"internal error: {type(exc).__name__}: {exc}"
               + ("" if args.verbose else " (run with --verbose for the traceback)"))
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.version:
        import torch

        from shapecheck import __version__
        print(f"shapecheck {__version__} (torch {torch.__version__})")
        return 0
    if args.list_codes:
        print(_codes_text(args.format or "text", args.verbose), end="")
        return 0
    options = _options(args)
    _check_destinations(options)
    if options["confirm"]:
        _check_device(options["device"])
    reports, tracebacks = _analyse(options)
    repairs = None
    fixable = _fixable_targets(reports) if options["diff"] or options["fix"] else []
    if fixable:
        reports, repairs = _find_source_fixes(reports, fixable, options)
    document = _render(reports, tracebacks, options)
    if options["output"]:
        from shapecheck.reporters import write_atomically

        try:
            write_atomically(options["output_path"], document)
        except OSError as exc:
            raise UsageError(f"cannot write {options['output']}: {exc.strerror or exc}")
        _info(f"wrote {options['format']} report to {options['output']}", options)
    else:
        _write_stdout(document)
    if options["html"]:
        _write_html(reports, tracebacks, options)
    from shapecheck.runner import exit_status

    if repairs is not None:
        _source_fixes(repairs, fixable, options)
    status = exit_status(reports)
    if options["graph"]:
        status = max(status, _write_graphs(reports, options))
    return status


def _find_source_fixes(reports, specs: list[str], options: dict[str, Any]):
    """--diff / --fix: the verified source edits, and the Reports carrying them (so that
    JSON's `fix.edits` and SARIF's `fixes` hold the edit `--diff` prints)."""
    from shapecheck.repair.attach import with_source_fixes
    from shapecheck.repair.run import find_fixes

    with _stdout_to_stderr():
        repairs = find_fixes(specs, options["inputs"])
    return with_source_fixes(reports, repairs.fixes, repairs.origins), repairs


def _fixable_targets(reports) -> list[str]:
    """The targets with a finding a source edit may fix (`repair.fixable`)."""
    from shapecheck.repair import fixable

    return [r.target for r in reports if r.error is None and fixable(r)]


def _source_fixes(repairs, specs: list[str], options: dict[str, Any]) -> None:
    """--diff / --fix: print the verified source edits, or apply them."""
    from shapecheck.repair.run import apply_fixes, diff_text, hint

    if options["fix"]:
        with _stdout_to_stderr():
            repairs = apply_fixes(repairs, specs, options["inputs"], options["unsafe_fixes"])
    text = diff_text(repairs) if options["diff"] else ""
    if text and options["format"] == "text" and not options["output"]:
        _write_stdout(text if text.endswith("\n") else text + "\n")
    elif text:  # stdout holds a machine-readable document: keep it parseable
        print(text, file=sys.stderr, end="" if text.endswith("\n") else "\n")
    for path in repairs.written:
        _info(f"fixed {_shown(path)}", options)
    for message in repairs.messages:
        _error(message)
    closing = hint(repairs, options["fix"], options["unsafe_fixes"])
    if closing:
        _info(closing, options)
    for _, why in repairs.unfixed:
        _info(f"no source fix: {why}", options)


def _shown(path: str) -> str:
    from shapecheck.load.frames import display_path

    return display_path(path)


# ---------------------------------------------------------------------------- options


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """Command-line flags over `[tool.shapecheck]`, validated."""
    from shapecheck.config import Config, ConfigError, load_config

    config = Config()
    if not args.no_config:
        try:
            config = load_config()
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        for warning in config.warnings:
            _error(f"warning: {warning}")
    sizes = _sizes_option(args, config.sizes)
    targets = list(args.targets) or config.targets
    if not targets:
        raise UsageError("no TARGET given (name a model file, e.g. shapecheck model.py, or "
                         "set targets in [tool.shapecheck] of pyproject.toml)")
    select = _codes_option(args.select, config.select, "--select")
    ignore = _codes_option(args.ignore, config.ignore, "--ignore")
    output_format = args.format or config.format or "text"
    color = (not args.no_color and output_format == "text" and not args.output
             and sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    return {
        "targets": targets,
        "inputs": args.input if args.input else (config.input or None),
        "format": output_format,
        "output": args.output,
        "graph": args.graph,
        "html": args.html,
        # resolved now: the user's code may change the working directory
        "output_path": os.path.abspath(args.output) if args.output else None,
        "run_all": args.run_all,
        "timeout": _timeout_option(args.timeout, config.timeout),
        "detail": args.detail or config.detail or "blocks",
        "confirm": args.confirm,
        "device": args.device or config.device or "auto",
        "backward": args.backward,
        "select": select,
        "ignore": ignore,
        "quiet": args.quiet,
        "verbose": args.verbose,
        "color": color,
        "lang": args.lang,
        "diff": args.diff,
        "fix": args.fix,
        "unsafe_fixes": args.unsafe_fixes,
        "sizes": sizes,
    }


def _sizes_option(args: argparse.Namespace, configured: Any = None) -> Any:
    """`check`'s sizes: None for each engine's default (torch: the quiet proof, SC105
    only), False for `--no-sizes`, True for a bare `--sizes`, else the range text;
    `[tool.shapecheck] sizes` (true, false or a range) stands in for the flags."""
    if args.no_sizes:
        return False
    if args.sizes is None:
        return configured
    if args.sizes and ".." not in args.sizes:  # `--sizes model.py`: a target, not a range
        args.targets = [args.sizes] + list(args.targets)
        return True
    if not args.sizes:
        return True
    from shapecheck.analysis.sizes import parse_ranges

    try:
        parse_ranges(args.sizes)
    except ValueError as exc:
        raise UsageError(f"--sizes: {exc}") from None
    return args.sizes


def _timeout_option(given: Optional[float], configured: Optional[float]) -> Optional[float]:
    from shapecheck.load.limits import DEFAULT_TIMEOUT

    value = given if given is not None else configured
    value = DEFAULT_TIMEOUT if value is None else value
    return value or None  # 0: no limit


def _codes_option(given: Optional[list[str]], configured: list[str], flag: str) -> list[str]:
    from shapecheck.codes import CODES

    values = [v.strip().upper() for item in given for v in item.split(",") if v.strip()] \
        if given else [v.upper() for v in configured]
    for value in values:
        if not any(code.code.startswith(value) for code in CODES):
            known = ", ".join(code.code for code in CODES)
            raise UsageError(f"{flag} {value}: no such code or prefix (known: {known}; "
                             f"see --list-codes)")
    return values


def _check_destinations(options: dict[str, Any]) -> None:
    """Fail before any analysis when a report or graph could not be written."""
    for flag in ("output", "graph", "html"):
        path = options[flag]
        if not path:
            continue
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise UsageError(f"--{flag} {path}: directory {os.path.dirname(path) or '.'} "
                             f"does not exist")
        if os.path.isdir(path):
            raise UsageError(f"--{flag} {path} is a directory; give a file name")


def _check_device(device: str) -> None:
    from shapecheck.confirm.compare import ConfirmError
    from shapecheck.confirm.device import resolve_device

    try:
        resolve_device(device)
    except ConfirmError as exc:
        raise UsageError(str(exc)) from None


# ---------------------------------------------------------------------------- analysis


def _analyse(options: dict[str, Any]):
    """Load and check every target, with a progress display on a terminal."""
    from shapecheck.confirm.compare import ConfirmError
    from shapecheck.runner import check_target, load_specs

    engine_options: dict[str, Any] = {
        "select": options["select"], "ignore": options["ignore"],
        "confirm": options["confirm"], "device": options["device"],
        "backward": options["backward"], "timeout": options["timeout"]}
    if options["lang"]:
        engine_options["lang"] = options["lang"]
    if options["sizes"] is not None:
        engine_options["sizes"] = options["sizes"]
    checked = []
    # The user's code may print: keep standard output for the report alone.
    with _stdout_to_stderr(), _Progress(options) as progress:
        targets = load_specs(options["targets"], options["inputs"], run_all=options["run_all"],
                             timeout=options["timeout"])
        progress.start(len(targets))
        for target in targets:
            progress.describe(target.name)
            try:
                item = check_target(target, **engine_options)
            except ConfirmError as exc:
                raise UsageError(str(exc)) from None
            progress.advance()
            if item is not None:
                checked.append(item)
    reports = [item.report for item in checked]
    tracebacks = {item.report.target: item.traceback for item in checked if item.traceback}
    return reports, tracebacks


@contextlib.contextmanager
def _stdout_to_stderr():
    """Send everything written to standard output meanwhile to standard error.

    Python-level prints are redirected, and so is file descriptor 1, which catches output
    from C extensions and child processes that a `print` redirect would miss.
    """
    sys.stdout.flush()
    saved = None
    try:
        if sys.stdout.fileno() == 1:
            saved = os.dup(1)
            os.dup2(sys.stderr.fileno(), 1)
    except (AttributeError, OSError, ValueError):  # no real descriptor (captured streams)
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


class _Progress:
    """A transient progress bar on standard error when that is a terminal (gone once done)."""

    def __init__(self, options: dict[str, Any]):
        self.enabled = sys.stderr.isatty() and not options["quiet"]
        self.progress = None
        self.task = None

    def __enter__(self) -> "_Progress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn)

            self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                     BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=Console(file=sys.__stderr__), transient=True)
            self.progress.start()
            self.task = self.progress.add_task("loading", total=None)
        return self

    def start(self, total: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, total=total, completed=0)

    def describe(self, name: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=name)

    def advance(self) -> None:
        if self.progress is not None:
            self.progress.advance(self.task)

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()


# ---------------------------------------------------------------------------- output


def _render(reports, tracebacks, options: dict[str, Any]) -> str:
    from shapecheck.reporters import render

    traces = tracebacks if options["verbose"] else None
    if options["format"] != "text":
        extra = _html_options(options) if options["format"] == "html" else {}
        try:
            return render(reports, options["format"], tracebacks=traces, **extra)
        except ImportError as exc:
            if exc.name and exc.name.startswith("shapecheck.reporters."):
                raise UsageError(f"--format {options['format']} is not available in this "
                                 f"installation ({exc.name} is missing)") from None
            raise
    width = None
    if options["color"]:
        import shutil
        width = shutil.get_terminal_size((100, 24)).columns
    return render(reports, "text", tracebacks=traces, quiet=options["quiet"],
                  verbose=options["verbose"], color=options["color"], width=width,
                  lang=options["lang"] or _default_lang())


def _html_options(options: dict[str, Any]) -> dict[str, Any]:
    return {"detail": options["detail"], "lang": options["lang"] or _default_lang()}


def _write_html(reports, tracebacks, options: dict[str, Any]) -> None:
    """`--html PATH`: the HTML page beside the main report, written atomically."""
    from shapecheck.reporters import render, write_atomically

    traces = tracebacks if options["verbose"] else None
    page = render(reports, "html", tracebacks=traces, **_html_options(options))
    try:
        write_atomically(options["html"], page)
    except OSError as exc:
        raise UsageError(f"cannot write {options['html']}: {exc.strerror or exc}")
    _info(f"wrote html report to {options['html']}", options)


def _default_lang() -> str:
    try:
        from shapecheck.messages import default_language
        return default_language()
    except ImportError:
        return "en"


def _write_graphs(reports, options: dict[str, Any]) -> int:
    """One graph per analysed model; returns 2 when one could not be written."""
    from shapecheck.render import write_graph

    drawable = [r for r in reports if r.error is None]
    paths = graph_paths(options["graph"], [r.target for r in drawable])
    status = 0
    for report, path in zip(drawable, paths):
        try:
            message = write_graph(report, path, options["detail"])
        except Exception as exc:  # graphviz missing, unknown suffix, ...
            _error(f"cannot write graph {path}: {type(exc).__name__}: {exc}")
            status = 2
            continue
        if message.startswith("wrote "):
            _info(message, options)
        else:  # not the file asked for (no `dot`): say so even with --quiet
            print(message, file=sys.stderr)
    for report in reports:
        if report.error is not None:
            _info(f"no graph for {report.target}: it could not be analysed", options)
    return status


def graph_paths(path: str, targets: Sequence[str]) -> list[str]:
    """The graph file of each model: `path` itself for one, else `stem-<model>.suffix`.

    Example:
        >>> graph_paths("out/g.svg", ["a/x.py:build", "a/x.py:Net"])
        ['out/g-x-build.svg', 'out/g-x-Net.svg']
    """
    if len(targets) <= 1:
        return [path] * len(targets)
    stem, suffix = os.path.splitext(path)
    result: list[str] = []
    for target in targets:
        file, _, name = target.rpartition(":") if ":" in target else (target, "", "")
        slug = re.sub(r"[^\w.-]+", "-", "-".join(
            p for p in (os.path.splitext(os.path.basename(file))[0], name) if p)).strip("-")
        candidate = f"{stem}-{slug}{suffix}"
        counter = 2
        while candidate in result:
            candidate = f"{stem}-{slug}-{counter}{suffix}"
            counter += 1
        result.append(candidate)
    return result


def _codes_text(fmt: str, verbose: int) -> str:
    from shapecheck.codes import CODES

    if fmt == "json":
        import json
        codes = [{"code": c.code, "kind": c.kind, "severity": c.severity, "title": c.title,
                  "description": c.description} for c in CODES]
        return json.dumps({"codes": codes}, indent=2) + "\n"
    lines = []
    for c in CODES:
        lines.append(f"{c.code}  {c.severity:<7}  {c.kind:<20}  {c.title}")
        if verbose:
            lines.append(f"       {c.description}")
    return "\n".join(lines) + "\n"


def _info(message: str, options: dict[str, Any]) -> None:
    if not options["quiet"]:
        print(message, file=sys.stderr)


def _write_stdout(text: str) -> None:
    """Write the report; characters the terminal's encoding lacks become `?`, not a crash."""
    try:
        sys.stdout.write(text)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "ascii"
        sys.stdout.write(text.encode(encoding, "replace").decode(encoding))
    sys.stdout.flush()


def _silence_stdout() -> None:
    """Point standard output at /dev/null so that the exit-time flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass


def _error(message: str) -> None:
    print(f"shapecheck: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------- subcommands


def _run_subcommand(argv: list[str]) -> int:
    """`shapecheck exercises ...` / `shapecheck quiz ...`: the teaching exercises."""
    try:
        from shapecheck.exercises.cli import main as exercises_main
    except ImportError as exc:
        if exc.name and exc.name.startswith("shapecheck.exercises"):
            _error(f"'{argv[0]}' is not available: shapecheck.exercises is not installed")
            return 2
        raise
    result = exercises_main(argv)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
