"""Write every case of the wrong-answer folder out as a file: DIR/NN_slug/{wrong,right}_NAME.py."""

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from shapecheck.exercises import find  # noqa: E402


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(out: str) -> None:
    for path in sorted(HERE.glob("e[0-9][0-9]_*.py")):
        data = load(path)
        exercise = find(int(path.stem[1:3]))
        starter = exercise.starter_path.read_text(encoding="utf-8")
        solution = exercise.solution_path.read_text(encoding="utf-8")
        folder = Path(out) / exercise.file_name[:-3]
        folder.mkdir(parents=True, exist_ok=True)
        for label, cases in (("wrong", data.WRONG), ("right", data.RIGHT)):
            for c in cases:
                (folder / f"{label}_{c.name}.py").write_text(c.source(starter, solution),
                                                             encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
