"""One module per exercise: its texts (English and Chinese), criteria and explanation.

Each module defines `EXERCISE`, an `shapecheck.exercises.catalog.Exercise`; the order of the
list lives in `catalog.ITEMS`.
"""
