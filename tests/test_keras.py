"""The Keras front end on real Keras 3 (torch backend): the homework, record-and-continue,
unknown sizes, fixes proven by rebuilding, discovery and the command line."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from shapecheck.keras.check import check_keras  # noqa: E402
from shapecheck.keras.record import failure_of, node_of, recording  # noqa: E402
from shapecheck.runner import check_spec  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def write(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("import keras\nfrom keras import layers\n\n" + textwrap.dedent(body))
    return str(path)


@pytest.fixture(scope="module")
def homework():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import keras_homework
        import keras_homework_buggy
        yield keras_homework, keras_homework_buggy
    finally:
        sys.path.remove(str(EXAMPLES))


def test_the_homework_as_written_is_clean(homework):
    clean, _ = homework
    report = check_keras(clean.build)
    assert report.ok and report.tracer == "keras"
    assert len(report.residual_adds) == 16
    assert [a.shortcut for a in report.residual_adds].count("projection") == 4
    # every identity block receives exactly filters * 2 channels
    identity = [b for b in report.blocks if b.shortcut == "identity"]
    assert all(b.input_shape == b.output_shape for b in identity)
    assert report.output_shapes == [(1, 1000)]
    keras.backend.clear_session()
    assert report.parameters == clean.build().count_params()  # a real build, real weights


def test_the_seed_bug_gives_both_findings_in_one_run(homework):
    _, buggy = homework
    path = str(EXAMPLES / "keras_homework_buggy.py")
    report = check_keras(buggy.build, source=(path, "build"))
    assert [(f.code, f.kind, f.node) for f in report.findings] == [
        ("SC101", "channel_mismatch", "add_3"), ("SC101", "channel_mismatch", "add_13")]
    first, second = report.findings
    assert first.shapes == ((1, 28, 28, 512), (1, 56, 56, 256))
    assert second.shapes == ((1, 7, 7, 2048), (1, 14, 14, 1024))
    assert (first.location.path, first.location.line) == ("examples/keras_homework.py", 55)
    assert first.location.code == "x = Add()([x, shortcut])"
    assert "keras_homework_buggy.py:32" in first.message  # the block(...) call in stack()
    assert any("have strides=2 (56x56 -> 28x28)" in c for c in first.causes)
    assert "conv2d_137 gives 512 channels (from 256)" in first.causes
    for finding, line in ((first, 43), (second, 45)):
        fix = finding.fix
        assert fix.verified and (fix.in_channels, fix.stride) == (finding.shapes[1][-1], 2)
        projection, *diff = fix.code.splitlines()
        assert projection == (f"shortcut = BatchNormalization()(Conv2D({fix.out_channels}, 1, "
                              f"strides=2, use_bias=False)(shortcut))")
        assert diff[1:] == [f"--- examples/keras_homework_buggy.py:{line}",
                            f"+++ examples/keras_homework_buggy.py:{line}",
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
