"""`python -m shapecheck ...`: the same as the `shapecheck` command."""

import sys

from shapecheck.cli import main

sys.exit(main())
