"""The homework's Keras ResNeXt with the seed's bug: `conv_shortcut=False` opening a stack.

`block()` and `grouped_convolution_block()` are the seed's (from `homework.py`).
This `stack()` lets its caller choose the first block's shortcut, and `build()` turns the
projection off for stacks 2 and 4, believing (as seed page 000 does) that `Add()` pads or
broadcasts the smaller tensor. It does not: those blocks double the width and halve the
size, so their identity shortcut meets a main branch of another shape.

- stack 2, first block: main branch (28, 28, 512), shortcut (56, 56, 256).
- stack 4, first block: main branch (7, 7, 2048), shortcut (14, 14, 1024).

Keras itself stops at the first with `ValueError: Inputs have incompatible shapes`;
`shapecheck examples/keras/homework_buggy.py` reports both in one run, names each `Add()`
and the `stack(...)` line that built it, and proves the call-site fix `conv_shortcut=True`.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

from keras import Input, Model  # noqa: E402
from keras.layers import Dense, GlobalAveragePooling2D  # noqa: E402

try:
    from homework import block, stem  # shapecheck imports this file from its folder
except ModuleNotFoundError:
    from examples.keras.homework import block, stem


def stack(x, filters, blocks, strides, groups=32, conv_shortcut=True):
    # the caller chooses the first block's shortcut (the seed always projects)
    x = block(x, filters, strides=strides, groups=groups, conv_shortcut=conv_shortcut)
    for i in range(blocks):
        x = block(x, filters, groups=groups, conv_shortcut=False)
    return x


def build():
    """ResNeXt-50 32x4d with the projection switched off for stacks 2 and 4 (two bugs)."""
    inputs = Input(shape=(224, 224, 3))
    x = stem(inputs)
    x = stack(x, 128, 2, 1)
    x = stack(x, 256, 3, 2, conv_shortcut=False)
    x = stack(x, 512, 5, 2)
    x = stack(x, 1024, 2, 2, conv_shortcut=False)
    x = GlobalAveragePooling2D()(x)
    outputs = Dense(1000, activation='softmax')(x)
    return Model(inputs, outputs, name='resnext50_buggy')
