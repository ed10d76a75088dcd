"""`python -m bench [quick|full|PART] [args...]`, PART one of speed, depth, cold, cli, memory,
zoo, mutate, source_mutate, plot, summary.

`quick` (a few minutes on 2 cores): speed, the depth sweep, cold start, CLI, memory, a
40-model zoo sample, the quick mutation run and the quick source-fix mutation run (3 buggy
mutants per kind), written to bench/results/quick/ (unless BENCH_RESULTS says otherwise) so
that the committed full results stay as they are. `full` adds the whole zoo (all
torchvision classifiers and all timm models), every mutation model and every source-fix
mutation site, then rebuilds the summary and the docs' tables (`python -m bench.summary`).
A part name runs that part alone, passing the remaining arguments on (e.g.
`python -m bench zoo --sample 100`).
"""

from __future__ import annotations

import os
import sys
import time


def _parts(mode: str):
    from bench import cli_time, cold, depth, memory, mutate, source_mutate, speed, zoo

    quick = mode == "quick"
    return [
        ("speed", speed.main, ["--quick"] if quick else []),
        ("depth", depth.main, []),  # median of 5 in both: the depth target is judged on it
        ("cold", cold.main, ["--runs", "2" if quick else "5"]),
        ("cli", cli_time.main, ["--runs", "5" if quick else "10"]),
        ("memory", memory.main, ["--runs", "1" if quick else "3"]),
        ("zoo", zoo.main, ["--sample", "40"] if quick else []),
        ("mutate", mutate.main, ["--quick"] if quick else []),
        ("source_mutate", source_mutate.main, ["--quick"] if quick else []),
    ]


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    mode = argv[0] if argv else "quick"
    if mode in ("quick", "full"):
        if mode == "quick":
            # a quick run is a smoke test: keep it away from the committed full results
            os.environ.setdefault("BENCH_RESULTS", os.path.join(os.path.dirname(__file__), "results", "quick"))
        for name, fn, args in _parts(mode):
            start = time.perf_counter()
            print(f"== {name} {' '.join(args)} (load average {os.getloadavg()[0]:.2f})",
                  file=sys.stderr, flush=True)
            fn(args)
            print(f"== {name} done in {time.perf_counter() - start:.0f} s", file=sys.stderr,
                  flush=True)
        if mode == "full":  # the committed docs are built from a full run only
            from bench import summary

            summary.main()
        return
    import importlib

    module = {"cli": "cli_time"}.get(mode, mode)
    if module not in ("speed", "depth", "cold", "cli_time", "memory", "zoo", "mutate",
                      "source_mutate", "plot", "summary"):
        sys.exit(__doc__)
    no_args = module in ("plot", "summary")
    importlib.import_module(f"bench.{module}").main(*([] if no_args else [argv[1:]]))


if __name__ == "__main__":
    main()
