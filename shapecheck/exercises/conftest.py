"""pytest: the starter and solution files are learners' model files, not modules to collect
(their names start with a digit), even under `pytest --doctest-modules shapecheck`."""

collect_ignore_glob = ["starters/*", "solutions/*"]
