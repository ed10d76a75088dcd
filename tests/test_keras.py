"""The Keras front end on real Keras 3 (torch backend): the homework, record-and-continue,
unknown sizes, fixes proven by rebuilding, discovery and the command line."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from shapecheck.keras.backend import keras_available  # noqa: E402

os.environ.setdefault("KERAS_BACKEND", "torch")
if not keras_available():  # not importorskip: examples/keras/ on sys.path would pass for it
    pytest.skip("the Keras extra is not installed", allow_module_level=True)
import keras  # noqa: E402

from shapecheck.keras.check import check_keras  # noqa: E402
from shapecheck.keras.record import failure_of, node_of, recording  # noqa: E402
from shapecheck.runner import check_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "keras"


def write(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("import keras\nfrom keras import layers\n\n" + textwrap.dedent(body))
    return str(path)


@pytest.fixture(scope="module")
def homework():
    """The seed's Keras code (examples/keras/), imported once for the module."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        import homework
        import homework_buggy
        yield homework, homework_buggy
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.fixture(scope="module")
def clean_report(homework):
    return check_keras(homework[0].build)


@pytest.fixture(scope="module")
def buggy_report(homework):
    return check_keras(homework[1].build, source=(str(EXAMPLES / "homework_buggy.py"), "build"))


def test_the_homework_as_written_is_clean(clean_report):
    report = clean_report
    assert report.ok and report.tracer == "keras"
    assert len(report.residual_adds) == 16
    assert [a.shortcut for a in report.residual_adds].count("projection") == 4
    # every identity block receives exactly filters * 2 channels
    identity = [b for b in report.blocks if b.shortcut == "identity"]
    assert all(b.input_shape == b.output_shape for b in identity)
    assert report.output_shapes == [(1, 1000)]
    # what plain Keras's count_params() says for this model (measured once; the slow test
    # below counts it again on a real build with real weights)
    assert report.parameters == 25_097_128


@pytest.mark.slow
def test_confirm_runs_the_homework_for_real(homework, clean_report):
    from shapecheck.confirm.keras_run import confirmed_keras

    conf = confirmed_keras(clean_report, homework[0].build).confirm
    assert conf.error is None and conf.disagreements == []
    assert conf.nodes_compared == conf.nodes_agree == len(clean_report.nodes)
    assert conf.events[0]["parameters"] == clean_report.parameters  # real weights, counted


def test_the_seed_bug_gives_both_findings_in_one_run(buggy_report):
    report = buggy_report
    assert [(f.code, f.kind, f.node) for f in report.findings] == [
        ("SC101", "channel_mismatch", "add_3"), ("SC101", "channel_mismatch", "add_13")]
    first, second = report.findings
    assert first.shapes == ((1, 28, 28, 512), (1, 56, 56, 256))
    assert second.shapes == ((1, 7, 7, 2048), (1, 14, 14, 1024))
    assert (first.location.path, first.location.line) == ("examples/keras/homework.py", 55)
    assert first.location.code == "x = Add()([x, shortcut])"
    assert "homework_buggy.py:32" in first.message  # the block(...) call in stack()
    assert any("have strides=2 (56x56 -> 28x28)" in c for c in first.causes)
    assert "conv2d_137 gives 512 channels (from 256)" in first.causes
    for finding, line in ((first, 43), (second, 45)):
        fix = finding.fix
        assert fix.verified and (fix.in_channels, fix.stride) == (finding.shapes[1][-1], 2)
        projection, *diff = fix.code.splitlines()
        assert projection == (f"shortcut = BatchNormalization()(Conv2D({fix.out_channels}, 1, "
                              f"strides=2, use_bias=False)(shortcut))")
        assert diff[1:] == [f"--- examples/keras/homework_buggy.py:{line}",
                            f"+++ examples/keras/homework_buggy.py:{line}",
                            diff[3], diff[3].replace("-", "+", 1).replace("False", "True")]
        assert "conv_shortcut=False" in diff[3]


def test_a_merge_that_fails_is_recorded_and_building_goes_on():
    with recording():
        x = keras.Input((8, 8, 4))
        wide = layers_conv(6)(x)
        first = keras.layers.Add()([wide, x])
        second = keras.layers.Concatenate(axis=1)([first, keras.layers.Conv2D(6, 1, strides=2)(x)])
    assert first.shape == (None, 8, 8, 6)  # the main branch's shape
    assert failure_of(node_of(first)).shapes == ((None, 8, 8, 6), (None, 8, 8, 4))
    assert second.shape == (None, 12, 8, 6) and failure_of(node_of(second)) is not None
    with pytest.raises(ValueError):  # outside recording Keras raises as usual
        keras.layers.Add()([keras.Input((8, 8, 6)), keras.Input((8, 8, 4))])


def layers_conv(filters):
    return keras.layers.Conv2D(filters, 3, padding="same")


def test_every_mismatch_in_one_pass_with_codes():
    def build():
        x = keras.Input((16, 16, 8))
        a = keras.layers.Add(name="a_add")([keras.layers.Conv2D(16, 1, name="a_conv")(x), x])
        b = keras.layers.Concatenate(axis=1, name="b_cat")(
            [a, keras.layers.Conv2D(16, 1, strides=2, name="b_conv")(a)])
        return keras.Model(x, b)

    report = check_keras(build)
    assert [(f.code, f.node) for f in report.findings] == [("SC101", "a_add"), ("SC202", "b_cat")]


def test_unknown_sizes_are_probed_and_the_stride_bug_is_caught(tmp_path):
    path = write(tmp_path, "nonesize.py", """
        def build():
            x = keras.Input((None, None, 16))
            y = layers.Conv2D(16, 3, strides=2, padding="same", name="s2b1_2_conv")(x)
            y = layers.BatchNormalization(name="s2b1_2_bn")(y)
            return keras.Model(x, layers.Add(name="s2b1_add")([y, x]))
        """)
    [report] = check_spec(path)
    [finding] = report.findings
    assert (finding.code, finding.module, finding.location.line) == ("SC102", "s2b1_add", 9)
    assert finding.shapes == ((1, 112, 112, 16), (1, 224, 224, 16))
    assert finding.causes[0] == "s2b1_2_conv has strides=2 (224x224 -> 112x112)"
    assert finding.fix.verified and finding.fix.stride == 2
    assert any(n.startswith("unknown input sizes checked at 32, 33, 64, 65, 97, 224")
               for n in report.notes)
    [report] = check_spec(path, inputs="64,64,16")  # --input, batch optional
    assert report.input_shapes == [(1, 64, 64, 16)]
    assert report.findings[0].shapes == ((1, 32, 32, 16), (1, 64, 64, 16))


def test_odd_sizes_only_fail_where_they_fail(tmp_path):
    path = write(tmp_path, "odd.py", """
        def build():
            x = keras.Input((None, None, 4))
            down = layers.Conv2D(4, 3, strides=2, padding="valid", name="down")(x)
            up = layers.UpSampling2D(2, name="up")(down)
            pooled = layers.MaxPooling2D(2, name="pool")(x)
            return keras.Model(x, layers.Add(name="merge")([layers.UpSampling2D(2)(pooled), up]))
        """)
    [report] = check_spec(path)
    notes = [n for n in report.notes if n.startswith("unknown input sizes")]
    assert notes and "fails at" in notes[0] and "valid at" in notes[0]
    height = report.sizes["H"]  # the all-sizes proof: odd sizes from 3 on, nothing else
    assert height["proved"] and height["valid"] == [[3, None, 2]] and height["dim"] == 1
    assert [(c["progressions"], c["node"], c["too_small"]) for c in height["failing"]] == [
        ([[1, 2, 1]], "pool", True), ([[2, 3, 1]], "down", True), ([[4, None, 2]], "merge", False)]
    assert height["failing"][2]["shapes"] == [[1, 224, 224, 4], [1, 222, 222, 4]]
    assert report.sizes["W"]["valid"] == [[3, None, 2]]


def test_unknown_sizes_with_the_seed_block_stride_bug_have_their_valid_set(homework):
    clean, _ = homework

    def build():  # the seed's block, striding with an identity shortcut of equal width
        x = keras.Input((None, None, 256))
        return keras.Model(x, clean.block(x, 128, strides=2, conv_shortcut=False))

    report = check_keras(build)
    [finding] = report.findings
    assert (finding.code, finding.node, finding.location.line) == ("SC102", "add", 55)
    assert finding.shapes == ((1, 112, 112, 256), (1, 224, 224, 256))
    height = report.sizes["H"]
    assert height["proved"] and height["valid"] == [[1, 2, 1]]  # only 1x1 adds up
    assert [(c["progressions"], c["code"], c["node"], c["broadcast"])  # 2: 1x1 + 2x2 runs
            for c in height["failing"]] == [([[2, 3, 1]], "SC102", "add", True),
                                           ([[3, None, 1]], "SC102", "add", False)]
    assert height["failing"][0]["location"]["line"] == 55


def test_sizes_have_the_pytorch_json_shape():
    import torch

    import shapecheck

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(4, 4, 3, stride=2, padding=1)

        def forward(self, x):
            return self.conv(x) + x

    def build():
        x = keras.Input((16, 16, 4))
        y = keras.layers.Conv2D(4, 3, strides=2, padding="same")(x)
        return keras.Model(x, keras.layers.Add()([y, x]))

    torch_sizes = shapecheck.check(Net(), (1, 4, 16, 16), sizes=True).sizes
    keras_sizes = check_keras(build, sizes=True).sizes
    assert set(keras_sizes) == set(torch_sizes) == {"H", "W"}
    assert set(keras_sizes["H"]) == set(torch_sizes["H"])
    assert set(keras_sizes["H"]["failing"][0]) == set(torch_sizes["H"]["failing"][0])
    assert keras_sizes["H"]["valid"] == torch_sizes["H"]["valid"]
    assert check_keras(build).sizes is None  # known sizes: proved only when asked


def test_sequential_and_lambda_models_load(tmp_path):
    path = write(tmp_path, "seq.py", """
        model = keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(8, 3),
                                  layers.Lambda(lambda t: t * 2.0, name="double"),
                                  layers.GlobalAveragePooling2D(), layers.Dense(10)])
        """)
    [report] = check_spec(path)
    assert report.error is None and report.ok and report.output_shapes == [(1, 10)]
    assert report.nodes["double"].layer_type == "Lambda"
    assert report.nodes["double"].shape == (1, 30, 30, 8)
    assert report.residual_adds == []


def test_a_lambda_keras_cannot_infer_is_a_note(tmp_path):
    path = write(tmp_path, "lam.py", """
        def build():
            x = keras.Input((8, 8, 3))
            y = layers.Lambda(lambda t: t.reshape(-1, 7, 5), name="odd")(x)
            return keras.Model(x, layers.Add()([layers.Conv2D(3, 1)(y), x]))
        """)
    [report] = check_spec(path)
    assert report.error is None and report.ok
    [note] = [n for n in report.notes if "cannot infer" in n]
    assert note.startswith(f"Keras cannot infer the output shape of Lambda 'odd' ({path}:7)")
    assert "output_shape=" in note


def test_json_and_exit_status_on_the_command_line(tmp_path, capsys):
    path = write(tmp_path, "hw.py", """
        def block(x, filters, conv_shortcut=True):
            shortcut = x
            if conv_shortcut:
                shortcut = layers.Conv2D(filters, 1, strides=2)(x)
            y = layers.Conv2D(filters, 3, strides=2, padding="same")(x)
            return layers.Add()([y, shortcut])

        def build():
            x = keras.Input((32, 32, 8))
            y = block(x, 16)
            y = block(y, 32, conv_shortcut=False)
            return keras.Model(x, y)
        """)
    from shapecheck.cli import main

    assert main([path, "--format", "json"]) == 1
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert result["tracer"] == "keras"
    assert [a["ok"] for a in result["residual_adds"]] == [True, False]
    [finding] = result["findings"]
    assert finding["shapes"] == [[1, 8, 8, 32], [1, 16, 16, 16]]
    assert finding["fix"]["verified"] and finding["fix"]["out_channels"] == 32
    assert finding["fix"]["code"].splitlines()[-1] == "+    y = block(y, 32, conv_shortcut=True)"
    assert finding["location"]["line"] == 10


def test_tensorflow_keras_gets_a_clear_message(tmp_path):
    path = tmp_path / "tf.py"
    path.write_text("from tensorflow import keras\nfrom tensorflow.keras import layers\n")
    [report] = check_spec(str(path))
    assert report.error.kind == "load" and report.error.location.line == 1
    assert "import keras" in report.error.message and "KERAS_BACKEND=torch" in report.error.message


def test_the_block_graph_draws_a_keras_report(homework):
    pytest.importorskip("graphviz")

    def build():
        x = keras.Input((8, 8, 4))
        return keras.Model(x, keras.layers.Add()([keras.layers.Conv2D(6, 1)(x), x]))

    graph = check_keras(build).graph()
    assert "SC101" in graph.source


def test_the_html_report_reads_a_keras_report(buggy_report):
    from shapecheck.reporters.html import page_data, render_html

    data, _ = page_data([buggy_report], layout="browser")
    [model] = data["models"]
    assert [(f["code"], f["module"]) for f in model["findings"]] == [
        ("SC101", "add_3"), ("SC101", "add_13")]
    page = render_html([buggy_report])
    assert "homework.py:55" in page and "add_13" in page


SMALL = """
    def block(x, filters, conv_shortcut=True):
        shortcut = x
        if conv_shortcut:
            shortcut = layers.Conv2D(filters, 1, strides=2)(x)
        y = layers.Conv2D(filters, 3, strides=2, padding="same")(x)
        return layers.Add()([y, shortcut])

    def build():
        x = keras.Input((32, 32, 8))
        return keras.Model(x, block(block(x, 16), 32, conv_shortcut=False))

    def build_clean():
        x = keras.Input((32, 32, 8))
        return keras.Model(x, block(block(x, 16), 32))

    inputs = keras.Input((16, 16, 3))
    model = keras.Model(inputs, layers.Lambda(lambda t: t * 2.0, name="double")(inputs))
    """


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "small.py"
    path.write_text("import keras\nfrom keras import layers\n" + textwrap.dedent(SMALL))
    return str(path)


def test_confirm_runs_every_layer_for_real(small_file):
    import torch

    [report] = check_spec(f"{small_file}:build_clean", confirm=True, device="auto")
    conf = report.confirm
    assert conf.device.startswith("cuda" if torch.cuda.is_available() else "cpu")
    assert conf.error is None and conf.disagreements == []
    assert conf.nodes_compared == conf.nodes_agree == len(report.nodes) == 7
    assert [e["event"] for e in conf.events] == ["build", "run", "completed"]
    [instance] = check_spec(f"{small_file}:model", confirm=True, device="cpu")  # a clone
    assert instance.confirm.nodes_agree == instance.confirm.nodes_compared == 2


def test_confirm_says_a_buggy_keras_model_cannot_be_built(small_file):
    [report] = check_spec(f"{small_file}:build", confirm=True, device="cpu")
    conf = report.confirm
    assert [f.node for f in report.findings] == ["add_1"]  # nothing added by the run
    assert (conf.predicted_errors, conf.errors_confirmed, conf.nodes_compared) == (1, 1, 0)
    confirmed, stopped = conf.events
    assert (confirmed["event"], confirmed["node"], confirmed["how"]) == (
        "error_confirmed", "add_1", "raised")
    assert confirmed["message"] == ("ValueError: Inputs have incompatible shapes. Received "
                                    "shapes (8, 8, 32) and (16, 16, 16)")
    assert stopped["event"] == "chain_stopped" and "cannot be built for real" in stopped["reason"]
    assert conf.error is None


@pytest.mark.parametrize("number, lang, words", [
    (2, "en", "Received shapes (16, 16, 128) and (32, 32, 64)"),
    (2, "zh", "Keras 在构建模型时就会报这个错"),
    (5, "en", "Keras builds this add without an error, broadcasting it to 1x2x2x16"),
    (5, "zh", "Keras 构建这个加法时没有报错，而是把它广播成 1x2x2x16"),
])
def test_exercises_show_what_keras_itself_says(number, lang, words):
    from shapecheck.exercises.catalog import find
    from shapecheck.exercises.grading import grade

    exercise = find(number)
    assert words in grade(exercise, str(exercise.solution_path), lang).explanation
