"""The HTML report: one self-contained page, its data part (golden files), and a real
headless Chromium opening it from disk with no network.

Golden files: tests/golden/html_*.json hold the data part (browser layout, so they do not
depend on Graphviz's version); after an intended change run
`SHAPECHECK_REGEN_GOLDEN=1 pytest tests/test_html.py` and review the diff. Browser tests
need Playwright (`pip install -e ".[html-test]"`) and Debian's chromium
(`scripts/setup.sh` installs both); they skip, saying which is missing, without them.
Screenshots go to tests/output/html/ for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import shapecheck
from conftest import ROOT, build_meta, load_file
from shapecheck.report import Report
from shapecheck.reporters import REPORTERS, render
from shapecheck.reporters.html import notebook_html, page_data, render_html
from shapecheck.reporters.html.page import DATA_ID, csp_hash

GOLDEN = Path(__file__).resolve().parent / "golden"
OUTPUT = Path(__file__).resolve().parent / "output" / "html"
REGEN = os.environ.get("SHAPECHECK_REGEN_GOLDEN") == "1"
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="graphviz 'dot' is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

nets = load_file("tests/golden/render_nets.py")
_CACHE: dict[str, Report] = {}


def report_of(name: str) -> Report:
    """The engine's report for a named network (computed once per session)."""
    if name not in _CACHE:
        if name == "keras_buggy":
            keras = load_file("examples/keras_resnext_buggy.py")
            _CACHE[name] = shapecheck.check(build_meta(keras.build), keras.INPUT_SHAPE)
        elif name in ("resnet50", "resnet152"):
            resnet = load_file("models/resnet.py")
            _CACHE[name] = shapecheck.check(build_meta(getattr(resnet, name)), resnet.INPUT_SHAPE)
        else:
            _CACHE[name] = shapecheck.check(getattr(nets, name)(), nets.INPUT_SHAPE)
    return _CACHE[name]


def data_of(page: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{DATA_ID}">(.*?)</script>', page, re.S)
    assert match, "the page has no data part"
    return json.loads(match.group(1))


def node_ids(page: str) -> list[str]:
    """The ids of dot's node groups in the page's SVG."""
    return re.findall(r'<g id="([^"]+)" data-path="[^"]+" class="node">', page)


def findings_list(page: str) -> list[tuple[str, str, str]]:
    """(code, severity, module) of each entry of the page's findings list."""
    return re.findall(r'<li class="finding (\w+)" data-finding="\d+" tabindex="0"><p class="what">'
                      r'<b>(SC\d+)</b> \w+ \([\w_]+\) <code class="module">([^<]*)</code>', page)


# --- the page without a browser ---------------------------------------------------------------


def test_html_is_a_registered_format():
    assert REPORTERS["html"].load() is render_html
    assert render([report_of("tiny_ok")], "html").startswith("<!DOCTYPE html>")


def test_the_page_loads_nothing_and_evaluates_nothing():
    page = render_html([report_of("keras_buggy")])
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert "unsafe" not in policy and "http" not in policy
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert directives["script-src"].split() == [csp_hash(s) for s in scripts]
    assert directives["style-src"].split() == [csp_hash(s) for s in styles]
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)
    assert not re.search(r"\beval\(|new Function\(|setTimeout\(\s*['\"]", "".join(scripts))
    assert "sourceMappingURL" not in page


@needs_dot
def test_buggy_keras_page_marks_both_adds_links_both_findings_and_shows_both_fixes():
    report = report_of("keras_buggy")
    page = render_html([report], root="/repo")
    ids = node_ids(page)
    assert {"stack2.0#add", "stack4.3#add", "stack2.0", "stack4.3", "stem", "head"} <= set(ids)
    assert len(ids) == len(set(ids))
    assert findings_list(page) == [("error", "SC101", "stack2.0"), ("error", "SC102", "stack4.3")]
    data = data_of(page)["models"][0]
    assert [(f["code"], f["target"], f["fix"]) for f in data["findings"]] == [
        ("SC101", "stack2.0#add", "stack2.0#fix"), ("SC102", "stack4.3#add", "stack4.3#fix")]
    assert data["findings"][0]["main"] == ["stack2.0"]
    for finding in report.findings:
        assert f"<code>{finding.fix.code}</code>" in page
        line = finding.location.line
        assert f'href="vscode://file/repo/examples/keras_resnext.py:{line}"' in page
    # the two red adds: dot drew them in the error colour
    for add in ("stack2.0#add", "stack4.3#add"):
        group = page.split(f'<g id="{add}"', 1)[1].split("</g>", 1)[0]
        assert 'stroke="#c0392b"' in group


def test_resnet50_page_has_16_adds_and_no_finding():
    page = render_html([report_of("resnet50")])
    data = data_of(page)["models"][0]
    blocks = [p for p in data["parts"] if p["kind"] == "block"]
    assert len(blocks) == 16 and all(p["ok"] for p in blocks)
    assert data["findings"] == [] and findings_list(page) == []
    assert '<b class="adds">16/16</b>' in page
    # folded runs: every block is reachable from a drawn node, folded ones through their run
    drawn = set(data["nodes"].values())
    folded = {b for p in data["parts"] for b in p["run"][1:]}
    assert set(range(16)) == (drawn & set(range(16))) | folded


@needs_dot
def test_resnet152_at_layers_detail_is_under_300_kb():
    page = render_html([report_of("resnet152")], detail="layers")
    size = len(page.encode("utf-8"))
    assert size < 300_000, f"{size} bytes"
    assert {"layer3.0.conv2", "layer3.0#add", "layer1.0.downsample.0"} <= set(node_ids(page))


def test_the_same_input_gives_the_same_bytes():
    first = render_html([report_of("tiny_buggy")], detail="layers", root="/r")
    again = render_html([shapecheck.check(nets.tiny_buggy(), nets.INPUT_SHAPE)], detail="layers",
                        root="/r")
    assert first == again
    browser = render_html([report_of("tiny_buggy")], layout="browser", root="/r")
    assert browser == render_html([report_of("tiny_buggy")], layout="browser", root="/r")


@pytest.mark.parametrize("net,detail", [("tiny_buggy", "blocks"), ("tiny_buggy", "layers"),
                                        ("tiny_deep", "blocks"), ("tiny_ok", "blocks")])
def test_golden_data_part(net, detail):
    data, _ = page_data([report_of(net)], detail=detail, layout="browser")
    text = json.dumps(data["models"], indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    path = GOLDEN / f"html_{net}_{detail}.json"
    if REGEN:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing {path}; run with SHAPECHECK_REGEN_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} differs; if the change is intended, regenerate with SHAPECHECK_REGEN_GOLDEN=1")


@needs_dot
def test_the_browser_layout_page_shows_the_same_findings_and_ids():
    report = report_of("keras_buggy")
    with_dot, without = render_html([report]), render_html([report], layout="browser")
    assert findings_list(without) == findings_list(with_dot)
    dot_data, browser_data = data_of(with_dot)["models"][0], data_of(without)["models"][0]
    assert browser_data["findings"] == dot_data["findings"]
    assert browser_data["nodes"] == dot_data["nodes"]
    assert sorted(n[0] for n in browser_data["graph"]["nodes"]) == sorted(node_ids(with_dot))
    assert 'data-t="layout_browser"' in without and 'data-t="layout_dot"' in with_dot


def test_without_dot_the_page_is_laid_out_in_the_browser(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    page = render_html([report_of("tiny_buggy")])
    assert 'data-layout="browser"' in page and "dagre" in page
    assert data_of(page)["models"][0]["graph"]["nodes"]


@pytest.mark.skipif(not hasattr(Report, "from_json"), reason="Report.from_json has not landed")
def test_a_report_read_back_from_json_gives_the_same_data():
    report = report_of("keras_buggy")
    again = Report.from_json(json.loads(json.dumps(report.to_json())))
    original, _ = page_data([report], layout="browser")
    restored, _ = page_data([again], layout="browser")
    for key in ("findings", "parts", "nodes", "sources"):
        assert restored["models"][0][key] == original["models"][0][key], key


def test_several_targets_share_one_page_with_prefixed_ids():
    page = render_html([report_of("tiny_buggy"), report_of("tiny_ok")], layout="browser")
    assert page.count('<section class="model"') == 2
    assert [m["graph"] is not None for m in data_of(page)["models"]] == [True, True]


def test_a_target_that_could_not_be_analysed_gets_a_section():
    from shapecheck.report import Location, TargetError

    failed = Report("bad.py:build", error=TargetError("build", "groups must divide channels",
                                                      Location("bad.py", 7)))
    page = render_html([failed], tracebacks={"bad.py:build": "Traceback ...\nValueError"})
    assert 'data-t="error"' in page and "groups must divide channels (bad.py:7)" in page
    assert "Traceback ...\nValueError" in page and data_of(page)["models"][0]["graph"] is None


def test_jupyter_shows_the_page_inline():
    report = report_of("tiny_ok")
    frame = report._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "&lt;!DOCTYPE html&gt;" in frame
    assert frame == notebook_html(report)
    assert report._repr_svg_().lstrip().startswith("<?xml") or "<svg" in report._repr_svg_()


def _cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "shapecheck", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_cli_format_html_and_html_beside_json(tmp_path):
    target = "tests/golden/render_nets.py:tiny_buggy"
    out = tmp_path / "report.html"
    run = _cli(target, "--format", "html", "-o", str(out))
    assert run.returncode == 1, run.stderr
    assert out.read_text().startswith("<!DOCTYPE html>") and run.stdout == ""
    beside = tmp_path / "ci.html"
    run = _cli(target, "--format", "json", "--html", str(beside), "--detail", "layers")
    assert run.returncode == 1, run.stderr
    assert json.loads(run.stdout)["results"][0]["target"] == target
    assert data_of(beside.read_text())["detail"] == "layers"
    run = _cli(target, "--html", str(tmp_path / "missing" / "x.html"))
    assert run.returncode == 2 and "does not exist" in run.stderr


# --- in a real browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="Playwright is not installed (pip install -e '.[html-test]')")
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium; scripts/setup.sh does it)")
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        except Exception as exc:  # a chromium that cannot start here (no sandbox support, ...)
            pytest.skip(f"chromium could not be started: {exc}")
        yield browser
        browser.close()


class Opened:
    """A page opened from disk, with every console message and request it made."""

    def __init__(self, browser, path: Path):
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        # anything but the file itself is refused, and recorded above
        self.page.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready]")

    def ids(self, selector: str) -> list[str]:
        return self.page.eval_on_selector_all(
            selector, "els => els.map(e => e.getAttribute('data-path'))")

    def offline_and_clean(self, path: Path) -> None:
        assert self.errors == []
        assert self.requests == [path.as_uri()]


def _write(tmp_path: Path, name: str, page: str) -> Path:
    path = tmp_path / name
    path.write_text(page, encoding="utf-8")
    return path


@needs_dot
def test_browser_buggy_keras_page(browser, tmp_path):
    path = _write(tmp_path, "keras_buggy.html", render_html([report_of("keras_buggy")]))
    opened = Opened(browser, path)
    page = opened.page
    assert {"stack2.0#add", "stack4.3#add"} <= set(opened.ids(".canvas g.node"))
    page.locator("li.finding").first.click()
    assert opened.ids("g.node.hl-add") == ["stack2.0#add"]
    assert opened.ids("g.node.hl-main") == ["stack2.0"]
    identity = page.eval_on_selector_all("g.edge.hl-short", "els => els.map(e => e.dataset.to)")
    assert identity == ["stack2.0#add"]  # the identity shortcut edge into the failing add
    panel = page.locator("section.model .panel")
    assert panel.get_attribute("data-part") == "3"
    assert "stack2.0.conv1" in panel.inner_text()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "keras_resnext_buggy.png"))
    page.keyboard.press("n")
    assert opened.ids("g.node.hl-add") == ["stack4.3#add"]
    assert page.locator("li.finding.active").get_attribute("data-finding") == "1"
    page.keyboard.press("p")
    assert opened.ids("g.node.hl-add") == ["stack2.0#add"]
    page.locator("#lang").click()
    assert page.locator("section.model .side h3").inner_text() == "问题"
    assert page.locator("html").get_attribute("lang") == "zh"
    page.locator("#lang").click()
    assert page.locator("section.model .side h3").inner_text() == "Findings"
    # a folded run: stack3.1 ... stack3.5 is one box; searching a block inside it opens the run
    page.locator("#search").fill("stack3.3")
    page.locator("#search").press("Enter")
    assert opened.ids("g.node.hl-search") == ["stack3.1"]
    assert panel.get_attribute("data-run") == "5"
    assert page.locator(".panel .run button.found").get_attribute("data-block") == "stack3.3"
    assert page.locator(".panel .run button.found + table tr").count() > 1
    opened.offline_and_clean(path)


@needs_dot
def test_browser_click_a_folded_run_expands_it(browser, tmp_path):
    path = _write(tmp_path, "resnet50.html", render_html([report_of("resnet50")]))
    opened = Opened(browser, path)
    page = opened.page
    assert page.locator("li.finding").count() == 0
    page.locator('g.node[data-path="layer3.1"]').click()
    assert page.locator('g.node[data-path="layer3.1"]').get_attribute("class").split()[-1] == "expanded"
    buttons = page.locator(".panel .run button")
    assert buttons.count() == 5
    buttons.nth(2).click()
    assert "layer3.3.conv2" in page.locator(".panel").inner_text()
    page.screenshot(path=str(OUTPUT / "resnet50.png")) if OUTPUT.exists() else None
    opened.offline_and_clean(path)


def test_browser_layout_without_dot(browser, tmp_path):
    path = _write(tmp_path, "buggy_browser.html",
                  render_html([report_of("keras_buggy")], layout="browser"))
    opened = Opened(browser, path)
    page = opened.page
    ids = opened.ids(".canvas g.node")
    assert {"stack2.0#add", "stack4.3#add", "stem", "head"} <= set(ids)
    assert ids == [n[0] for n in data_of(path.read_text())["models"][0]["graph"]["nodes"]]
    page.locator("li.finding").nth(1).click()
    assert opened.ids("g.node.hl-add") == ["stack4.3#add"]
    assert page.locator("g.node.err").count() >= 2
    box = page.locator('g.node[data-path="stack2.0#add"]').bounding_box()
    assert box and box["width"] > 0
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / "keras_resnext_buggy_no_dot.png"))
    opened.offline_and_clean(path)


def test_browser_pan_and_zoom_change_the_view(browser, tmp_path):
    path = _write(tmp_path, "tiny.html", render_html([report_of("tiny_deep")], layout="browser"))
    opened = Opened(browser, path)
    page = opened.page
    before = page.get_attribute(".canvas svg", "viewBox")
    page.locator('[data-zoom="in"]').click()
    zoomed = page.get_attribute(".canvas svg", "viewBox")
    assert float(zoomed.split()[2]) < float(before.split()[2])
    canvas = page.locator(".canvas").bounding_box()
    page.mouse.move(canvas["x"] + 200, canvas["y"] + 200)
    page.mouse.down()
    page.mouse.move(canvas["x"] + 300, canvas["y"] + 260, steps=4)
    page.mouse.up()
    assert page.get_attribute(".canvas svg", "viewBox").split()[:2] != zoomed.split()[:2]
    opened.offline_and_clean(path)
