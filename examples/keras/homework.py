"""The boot-camp homework's Keras ResNeXt (seed pages 000 and 002), as Keras 3 code.

The homework asks why `x = Add()([x, shortcut])` raises no error when `conv_shortcut=False`
although the channel counts "differ". They do not differ where the seed uses it: `stack()`
opens every stack with a projecting block, so every identity block after it receives exactly
`filters * 2` channels at an unchanged size. `block()` and `stack()` below are the seed's
code as written (only the imports added); `grouped_convolution_block()`, which the seed
does not show, splits the channels into `groups` slices, convolves each with its own 3x3
conv and concatenates them, as the seed describes. `build()` is ResNeXt-50 (32x4d) from
these stacks: 16 residual adds (the seed's `range(blocks)` builds `blocks + 1` blocks per
stack), all with equal operand shapes. `homework_buggy.py` shows where it breaks.

Check it with `shapecheck examples/keras/homework.py` (Keras 3 on the torch backend).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

from keras import Input, Model  # noqa: E402
from keras.layers import (Add, BatchNormalization, Concatenate, Conv2D, Dense,  # noqa: E402
                          GlobalAveragePooling2D, Lambda, MaxPooling2D, ReLU)


def grouped_convolution_block(x, strides, groups, g_channels):
    group_list = []
    for c in range(groups):
        # c=c binds this slice's index now (a bare closure would give every slice the last)
        group = Lambda(lambda z, c=c: z[:, :, :, c * g_channels:(c + 1) * g_channels])(x)
        group = Conv2D(g_channels, kernel_size=(3, 3), strides=strides,
                       padding='same', use_bias=False)(group)
        group_list.append(group)
    x = Concatenate(axis=-1)(group_list)
    x = BatchNormalization(epsilon=1.001e-5)(x)
    x = ReLU()(x)
    return x


def block(x, filters, strides=1, groups=32, conv_shortcut=True):
    if conv_shortcut:
        shortcut = Conv2D(filters * 2, kernel_size=(1, 1), strides=strides,
                          padding='same', use_bias=False)(x)
        shortcut = BatchNormalization(epsilon=1.001e-5)(shortcut)
    else:
        shortcut = x                                    # identity shortcut
    x = Conv2D(filters=filters, kernel_size=(1, 1), strides=1,
               padding='same', use_bias=False)(x)
    x = BatchNormalization(epsilon=1.001e-5)(x)
    x = ReLU()(x)
    g_channels = int(filters / groups)
    x = grouped_convolution_block(x, strides, groups, g_channels)
    x = Conv2D(filters=filters * 2, kernel_size=(1, 1), strides=1,
               padding='same', use_bias=False)(x)
    x = BatchNormalization(epsilon=1.001e-5)(x)
    x = Add()([x, shortcut])
    x = ReLU()(x)
    return x


def stack(x, filters, blocks, strides, groups=32):
    # the first block of every stack raises the channels with a 1x1 conv
    x = block(x, filters, strides=strides, groups=groups)
    for i in range(blocks):
        x = block(x, filters, groups=groups, conv_shortcut=False)
    return x


def stem(inputs):
    """The ResNet stem: 7x7/2 conv to 64 channels, BN, ReLU, 3x3/2 max pool (224 -> 56)."""
    x = Conv2D(64, kernel_size=(7, 7), strides=2, padding='same', use_bias=False)(inputs)
    x = BatchNormalization(epsilon=1.001e-5)(x)
    x = ReLU()(x)
    return MaxPooling2D(pool_size=(3, 3), strides=2, padding='same')(x)


def build():
    """ResNeXt-50 32x4d from the seed's `stack()`: 3/4/6/3 blocks, 2048 features."""
    inputs = Input(shape=(224, 224, 3))
    x = stem(inputs)
    x = stack(x, 128, 2, 1)
    x = stack(x, 256, 3, 2)
    x = stack(x, 512, 5, 2)
    x = stack(x, 1024, 2, 2)
    x = GlobalAveragePooling2D()(x)
    outputs = Dense(1000, activation='softmax')(x)
    return Model(inputs, outputs, name='resnext50')
