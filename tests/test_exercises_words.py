"""The right words, checked on what learners read: causes that say what a layer does, no raw
kind names, no "change" that changes nothing, the fix on the side that is wrong, Chinese
without English words or half-width punctuation, the sources by their real titles, and
the language taken from LC_ALL, LC_MESSAGES, LANGUAGE and LANG."""

from __future__ import annotations

import io
import keyword
import re
import tokenize

import pytest
import torch
from torch import nn

import shapecheck
from shapecheck.exercises import exercises, find, grade
from shapecheck.exercises.describe import finding_lines
from shapecheck.exercises.present import hints_text, show_text
from shapecheck.exercises.quiz import make_quiz
from shapecheck.exercises.sources import TITLES
from shapecheck.i18n import default_language, wanted_locale
from shapecheck.reporters.text import render_text

IDEOGRAPH = "\u4e00-\u9fff"
# Names of things, not English prose: libraries, layers, papers' titles, units.
NAMES = {"ResNet", "ResNeXt", "ResNets", "BatchNorm", "ReLU", "PyTorch", "Keras", "shapecheck",
         "CPU", "GPU", "MACs", "Report", "ImageNet", "Transformer", "LayerNorm", "Linear",
         "He", "Identity", "Mappings", "Deep", "Residual", "Networks", "Table", "CV", "Add",
         "CIFAR", "Fashion", "MNIST", "torchvision", "timm", "Wide", "tanh", "sigmoid", "max",
         "assert", "shape", "stack", "blocks", "filters", "ai", "pre", "norm", "token",
         "Resnet", "exercises", "hint", "check", "start", "level", "solution", "fx", "Conv",
         "ipynb", "py", "cell", "line", "ResNeXtBlock", "MaxPool", "AvgPool", "Dropout"}


def identifiers(*sources: str) -> set[str]:
    """Every name in Python sources (the learner's code may be cited by name)."""
    names: set[str] = set(keyword.kwlist) | {"True", "False", "None"}
    for source in sources:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME:
                names.add(tok.string)
            elif tok.type == tokenize.COMMENT or tok.type == tokenize.STRING:
                names.update(re.findall(r"[A-Za-z_]\w*", tok.string)
                             if "`" in tok.string or "(" in tok.string else ())
    return names


def prose(text: str) -> str:
    """`text` without what is quoted rather than written: code lines, backticks, PyTorch's
    own error messages, paths, shapes and calls."""
    kept = []
    for line in text.splitlines():
        if line.startswith("      ") or line.lstrip().startswith(("error SC", "错误 SC")):
            continue  # a quoted source line, or a finding's header with its kind
        line = re.sub(r"\w*Error: [^（]*", " ", line)  # PyTorch's own words
        line = re.sub(r"`[^`]*`|\{[^}]*\}|《[^》]*》|[\w./\-]+\.(py|ipynb)(:\w+ ?\d+)*", " ", line)
        while re.search(r"[\w.]+\([^()]*\)", line):  # calls, innermost first
            line = re.sub(r"[\w.]+\([^()]*\)", " ", line)
        kept.append(line)
    return "\n".join(kept)


def english_words(text: str, allowed: set[str]) -> list[str]:
    """ASCII words of two letters or more in Chinese lines that are neither names nor
    identifiers."""
    found = []
    for line in prose(text).splitlines():
        if not re.search(f"[{IDEOGRAPH}]", line):
            continue
        for word in re.findall(r"(?<![\w.\-/])[A-Za-z][A-Za-z]+(?![\w(.\-])", line):
            if word not in allowed and word not in NAMES:
                found.append(word)
    return found


def half_width(text: str) -> list[str]:
    """Half-width , ; : ? ! ( ) next to a Chinese character, outside quoted code."""
    body = prose(text)
    return re.findall(f"[{IDEOGRAPH}][,;:?!()]|[,;:?!()][{IDEOGRAPH}]", body)


def _zh_outputs(exercise) -> str:
    """What a Chinese learner reads: the question and hints as shown, and the verdicts on
    the starter and the solution (findings, problems, explanation, notes), unwrapped."""
    parts = [show_text(exercise, "zh"), hints_text(exercise, 9, "zh")]
    for path in (exercise.starter_path, exercise.solution_path):
        result = grade(exercise, str(path), "zh")
        parts += [str(p) for p in result.problems] + [result.explanation] + result.notes
        for finding in result.attempt.report.findings:
            parts += finding_lines(finding, "zh")
    return "\n".join(parts)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


OURS = [e for e in exercises() if e.slug != "ceil-mode"]  # e14's words are its author's


@pytest.mark.parametrize("exercise", OURS, ids=[e.slug for e in OURS])
def test_chinese_outputs_have_no_english_words_or_half_width_punctuation(exercise):
    text = _zh_outputs(exercise)
    allowed = identifiers(exercise.starter_path.read_text(encoding="utf-8"),
                          exercise.solution_path.read_text(encoding="utf-8"))
    assert english_words(text, allowed) == []
    assert half_width(text) == []


def test_quiz_in_chinese_has_no_english_words():
    for seed, model in enumerate(("resnet18", "resnext50_32x4d", "interview_misplaced_first_block",
                                  "cifar_resnext_equal_width_stride2")):
        quiz = make_quiz(model, seed=seed, count=6, lang="zh")
        for q in quiz.questions:
            text = f"{q.text}\n{q.explanation}"
            assert english_words(text, identifiers()) == [], text
            assert half_width(text) == [], text


def test_a_layer_built_for_other_inputs_is_said_to_receive_them():
    """Exercise 1's conv1 is Conv2d(128, 128) fed 64 channels: it does not "change" 64 -> 128."""
    starter = grade(find(1), str(find(1).starter_path), "en").attempt.report
    add = next(f for f in starter.errors if f.kind == "channel_mismatch")
    assert add.causes[0] == "conv1 is built for 128 -> 128 channels but receives 64"
    zh = grade(find(1), str(find(1).starter_path), "zh").attempt.report
    cause = next(f for f in zh.errors if f.kind == "channel_mismatch").causes[0]
    assert cause == "conv1 按 128 -> 128 个通道构建，实际却收到 64 个"


class _Widening(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(64, 128, 3, padding=1)

    def forward(self, x):
        return self.conv1(x) + x


def test_a_change_of_channels_has_its_verb_in_chinese():
    finding = shapecheck.check(_Widening(), (1, 64, 8, 8), lang="zh").errors[0]
    assert finding.causes[0] == "conv1 把通道数从 64 变为 128"


def test_no_size_change_from_a_size_to_itself():
    for seed in range(12):
        for lang in ("en", "zh"):
            quiz = make_quiz("resnet18", seed=seed, count=5, lang=lang)
            for q in quiz.questions:
                assert not re.search(r"(\d+x\d+) -> \1\b", q.explanation), q.explanation
                assert not re.search(r"从 (\d+x\d+) 变为 \1\b", q.explanation), q.explanation


class _ZeroPad(nn.Module):
    def forward(self, x):
        y = torch.relu(x[:, :, ::2, ::2]) * 2
        return y + torch.cat([x[:, :, ::2, ::2], x[:, :, ::2, ::2] * 0], 1)[:, :4]


def test_the_raw_kind_other_is_never_shown():
    report = shapecheck.check(_ZeroPad(), (1, 4, 8, 8))
    assert [b.shortcut for b in report.blocks] == ["other"]
    for lang, word in (("en", "non-standard"), ("zh", "非标准")):
        table = render_text([report], color=False, verbose=1, lang=lang)
        row = next(line for line in table.splitlines() if line.strip().startswith("0 "))
        assert word in row and "other" not in row


def test_a_main_branch_narrower_than_its_input_is_the_side_fixed():
    """Exercise 9: the expand conv left at 64; the fix widens it, it does not project x."""
    finding = grade(find(9), str(find(9).starter_path), "en").attempt.report.errors[0]
    assert finding.fix.kind == "resize" and not finding.fix.on_shortcut
    assert "bottleneck.expand = nn.Conv2d(64, 256" in finding.fix.code
    assert "the main branch comes back narrower" in finding.causes[-1]


def test_the_seeds_term_is_glossed_once_beside_the_shortcut():
    glossed = [e.number for e in exercises()
               if "快捷连接" in e.question("zh") or "短路连接" in e.question("zh")]
    assert len(glossed) == 1
    question = find(glossed[0]).question("zh")
    assert re.search(r"捷径（[^）]*快捷连接[^）]*短路连接[^）]*）", question)


def test_finding_is_never_called_a_report_in_chinese():
    """报告 is the Report; a finding is 诊断 or 问题. As a verb ("shapecheck 仍报告") it may stay."""
    from shapecheck.exercises.text import UI

    texts = [t.zh for t in UI.values()]
    for e in exercises():
        texts += [e.question.zh, *(h.zh for h in e.hints)]
    for text in texts:
        for match in re.finditer("报告", text):
            after = text[match.end():match.end() + 1]
            before = text[max(0, match.start() - 1):match.start()]
            assert after == "了" or before == "仍", text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_sources_are_named_by_their_titles(lang):
    for e in exercises():
        shown = show_text(e, lang) + e.starter_path.read_text(encoding="utf-8")
        assert not re.search(r"seed page|种子页面|page 00\d|页面 00\d", shown, re.I), e.slug
    named = [e for e in exercises() if any(t in e.source(lang) for t in TITLES)
             or "d2l.ai" in e.source(lang)]
    assert len(named) >= 13


@pytest.mark.parametrize("env,expected", [
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
    ({"LC_ALL": "zh_TW.UTF-8", "LC_MESSAGES": "en_US.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LC_ALL": "en_US.UTF-8", "LANGUAGE": "zh_CN:en_US"}, "zh"),
    ({"LC_ALL": "C", "LANGUAGE": "zh_CN"}, "en"),  # gettext ignores LANGUAGE under C
    ({"SHAPECHECK_LANG": "en", "LC_ALL": "zh_CN.UTF-8"}, "en"),
])
def test_language_from_the_environment(env, expected, monkeypatch):
    for name in ("SHAPECHECK_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert default_language() == expected
    assert default_language(env) == expected
    assert wanted_locale(env)


def test_text_report_in_chinese_uses_chinese_words_and_punctuation():
    report = shapecheck.check(_Widening(), (1, 64, 8, 8), lang="zh")
    text = render_text([report], color=False, verbose=1, lang="zh")
    head = next(line for line in text.splitlines() if "SC101" in line)
    assert "错误（channel_mismatch）" in head and " error " not in head
    assert half_width(text) == []
    assert english_words(text, {"channel_mismatch", "conv1", "nn"}) == []
