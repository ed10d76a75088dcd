"""Exercise 14 (ceil-mode): the shortcut rounds up as the strided conv does, at 224 and 240
and proved at every size, with the starter's state dict (the checkpoint still loads)."""

from cases import case

POOL = "        self.pool = nn.MaxPool2d(2, stride=2)\n"
RETURN = "        return self.relu(self.bn(self.conv(x)) + self.pool(x))"

WRONG = [
    # resizing the shortcut to the main branch runs at any size, but the branch it resizes
    # ends in a function, not a layer
    case("interpolated_shortcut", "starter",
         (RETURN, "        out = self.bn(self.conv(x))\n"
                  "        return self.relu(out + torch.nn.functional.interpolate("
                  "self.pool(x), size=out.shape[2:]))"),
         key="branch.not_layer", module="down1"),
    # a strided 1x1 projection rounds up too, but brings weights the checkpoint lacks
    case("projection_conv", "starter",
         (POOL, "        self.pool = nn.Conv2d(channels, channels, 1, stride=2, bias=False)\n"),
         key="weights.changed", module="down1.pool"),
    case("input_changed", "starter",
         ("INPUT_SHAPE = (1, 3, 224, 224)", "INPUT_SHAPE = (1, 3, 256, 256)"),
         key="constant.changed"),
    # no add, no mismatch: but no residual block either
    case("add_deleted", "starter",
         (RETURN, "        return self.relu(self.bn(self.conv(x)))"),
         key="blocks.count"),
    # a 1x1 main-branch conv floors like the pool: every weight of the conv changes shape
    case("main_conv_1x1", "starter",
         ("nn.Conv2d(channels, channels, 3, stride=2, padding=1, bias=False)",
          "nn.Conv2d(channels, channels, 2, stride=2, padding=0, bias=False)"),
         key="weights.changed", module="down1.conv"),
    # padding the pool fits 15 but breaks the even sizes: fails at 224 already
    case("pool_padded", "starter",
         (POOL, "        self.pool = nn.MaxPool2d(2, stride=2, padding=1)\n"),
         key="basic.findings"),
]

RIGHT = [
    case("reference", "solution"),
    # a 3x3 max pool with padding 1 also gives ceil(n / 2), with no weight
    case("padded_3x3_pool", "starter",
         (POOL, "        self.pool = nn.MaxPool2d(3, stride=2, padding=1)\n")),
]
