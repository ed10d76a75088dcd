"""The README stays true to the code: its code table is the registry's."""

from conftest import ROOT

from shapecheck.codes import CODES, markdown_table


def test_readme_code_table_is_generated_from_the_registry():
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme
    assert all(f"| {c.code} |" in readme for c in CODES)


def test_readme_names_the_two_commands_and_they_exist():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test"):
        assert f"make {target}" in readme and f"\n{target}:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
