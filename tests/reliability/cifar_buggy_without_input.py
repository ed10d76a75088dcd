"""A CIFAR ResNet with no input shape whose second block is buggy at every size (its main
branch doubles the channels, the identity shortcut does not): the finding must be reported,
at 32x32, the size the classifier was built for."""
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)) + x)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.block1 = Block(16, 16)
        self.block2 = Block(16, 32)  # should keep 16 channels, or have a projection
        self.fc = nn.Linear(32 * 8 * 8, 10)

    def forward(self, x):
        out = self.block2(self.block1(self.stem(x)))
        out = F.max_pool2d(out, 4)
        return self.fc(out.flatten(1))
