"""`python -m shapecheck.exercises ...`: the same as `shapecheck exercises ...`."""

import sys

from shapecheck.exercises.cli import main

sys.exit(main())
