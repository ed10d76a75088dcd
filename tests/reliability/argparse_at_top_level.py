"""A script that parses its command line at import: it must see no shapecheck flags."""
import argparse

import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--width", type=int, default=16)
args = parser.parse_args()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(args.width, args.width, 3, padding=1)

    def forward(self, x):
        return self.conv(x) + x


INPUT_SHAPE = (2, 16, 8, 8)
