"""The mutation sites of the source-fix benchmark (`bench/source_sites.py`): pure `ast`, fast."""

from __future__ import annotations

import ast
from pathlib import Path

from bench.source_sites import mutations

ROOT = Path(__file__).resolve().parent.parent
KUANGLIU_RESNET = ROOT / "tests" / "corpus" / "kuangliu-pytorch-cifar" / "resnet.py"


def _changed(old: str, new: str) -> list[tuple[int, str]]:
    """(line number, new text) of every line the mutation changed (same line count)."""
    pairs = zip(old.splitlines(), new.splitlines())
    return [(n, b.strip()) for n, (a, b) in enumerate(pairs, 1) if a != b]


def test_kuangliu_resnet_sites_by_kind_and_line():
    text = KUANGLIU_RESNET.read_text()
    sites = [(m.kind, m.variant, m.line) for m in mutations(text)]
    assert sites == [
        ("projection_rule", "drop stride test", 27), ("projection_rule", "or -> and", 27),
        ("projection_rule", "drop stride test", 57), ("projection_rule", "or -> and", 57),
        ("expansion", "1 -> 2", 15), ("expansion", "4 -> 8", 43), ("expansion", "4 -> 1", 43),
        ("class_width", "last conv x2", 22), ("class_width", "last conv x2", 52),
    ]


def test_each_mutation_edits_only_its_site_and_parses():
    text = KUANGLIU_RESNET.read_text()
    edited = {(m.kind, m.variant, m.line): _changed(text, m.apply(text)) for m in mutations(text)}
    for m in mutations(text):
        ast.parse(m.apply(text))
    assert edited[("projection_rule", "drop stride test", 27)] == [
        (27, "if in_planes != self.expansion*planes:")]
    assert edited[("projection_rule", "or -> and", 57)] == [
        (57, "if stride != 1 and in_planes != self.expansion*planes:")]
    assert edited[("expansion", "4 -> 1", 43)] == [(43, "expansion = 1")]
    # the width bug widens the last main-branch conv and the norm named like it
    assert edited[("class_width", "last conv x2", 22)] == [
        (22, "self.conv2 = nn.Conv2d(planes, planes * 2, kernel_size=3,"),
        (24, "self.bn2 = nn.BatchNorm2d(planes * 2)")]


def test_flags_and_ceil_mode_sites():
    text = (ROOT / "bench" / "resnet_d.py").read_text()
    pools = [m for m in mutations(text) if m.kind == "ceil_mode"]
    assert [(m.variant, m.line) for m in pools] == [("removed", 35), ("False", 35),
                                                   ("removed", 83), ("False", 83)]
    assert _changed(text, pools[0].apply(text)) == [
        (35, "self.pool = (nn.AvgPool2d(2, stride=2, count_include_pad=False)")]
    d2l = (ROOT / "models" / "d2l_resnet.py").read_text()
    flags = [m for m in mutations(d2l) if m.kind == "projection_flag"]
    assert [_changed(d2l, m.apply(d2l)) for m in flags] == [[(118, (
        "blocks.append(Residual(input_channels, num_channels, use_1x1conv=False, strides=2))"))]]


def test_one_mutant_end_to_end_gets_the_revert():
    from bench.source_mutate import SOURCES, Workspace, run_mutant

    source = next(s for s in SOURCES if s.path == "examples/d2l_resnext.py")
    text = (ROOT / source.path).read_text()
    flip = next(m for m in mutations(text) if m.kind == "projection_flag")
    ws = Workspace()
    try:
        row = run_mutant(ws, source, "residual_downsample", text, flip)
    finally:
        ws.close()
    assert row is not None  # the flipped flag breaks the add: a real mutant
    assert (row["findings"], row["fixed"], row["fix_kinds"], row["safe"]) == (
        "SC101", True, "call-argument", False)
    assert (row["place"], row["alone_clean"], row["combined_clean"]) == ("revert", "1/1", True)
    assert row["fix_edit"] == ("- return Residual(6, use_1x1conv=False, strides=2) / "
                               "+ return Residual(6, use_1x1conv=True, strides=2)")
