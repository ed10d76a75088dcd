"""Exercise 9 (bottleneck-params): the expand conv goes back to 256 channels (the main branch
is fixed, not the shortcut), and both counts are the tool's Block.params."""

from cases import case

EXPAND = "        self.expand, self.bn3 = conv(reduced, channels, 1), norm(channels)"
BASIC = "BASIC_PARAMS = 3 * 3 * 256 * 256 * 2 "
BOTTLE = "BOTTLENECK_PARAMS = 1 * 1 * 256 * 64 + 3 * 3 * 64 * 64 + 1 * 1 * 64 * 256 "

WRONG = [
    # shapecheck's own first suggestion: project the shortcut down to 64 channels
    case("shortcut_projected_down", "starter",
         ("        self.expand, self.bn3 = conv(reduced, reduced, 1), norm(reduced)\n",
          "        self.expand, self.bn3 = conv(reduced, reduced, 1), norm(reduced)\n"
          "        self.project = nn.Sequential(nn.Conv2d(channels, reduced, 1, bias=False),"
          " nn.BatchNorm2d(reduced))\n"),
         ("        out = self.bn3(self.expand(out))\n        return self.relu(out + x)",
          "        out = self.bn3(self.expand(out))\n        return self.relu(out + self.project(x))"),
         ("BASIC_PARAMS = None", "BASIC_PARAMS = 1179648"),
         ("BOTTLENECK_PARAMS = None", "BOTTLENECK_PARAMS = 69632"),
         key="shortcut.kind", module="bottleneck"),
    case("answers_swapped", "solution", (BASIC, "BASIC_PARAMS = 69_632 "),
         (BOTTLE, "BOTTLENECK_PARAMS = 1_179_648 "), key="answer.wrong", module="BASIC_PARAMS"),
    case("answers_as_strings", "solution", (BASIC, 'BASIC_PARAMS = "1179648" '),
         key="answer.wrong", module="BASIC_PARAMS"),
    case("expand_3x3", "solution", (EXPAND, EXPAND.replace("conv(reduced, channels, 1)",
                                                           "conv(reduced, channels, 3)")),
         key="structure.changed", module="bottleneck.expand"),
    case("bottleneck_128", "solution",
         ("bottleneck=Bottleneck(256, 64)", "bottleneck=Bottleneck(256, 128)"),
         key="structure.changed", module="bottleneck.reduce"),
    case("add_removed", "solution",
         ("        out = self.bn3(self.expand(out))\n        return self.relu(out + x)",
          "        out = self.bn3(self.expand(out))\n        return self.relu(out)"),
         key="blocks.count"),
]

RIGHT = [
    case("literals", "solution", (BASIC, "BASIC_PARAMS = 1_179_648 "), (BOTTLE, "BOTTLENECK_PARAMS = 69632 ")),
    case("expand_by_hand", "solution",
         (EXPAND, "        self.expand = nn.Conv2d(reduced, channels, 1, bias=False)\n"
                  "        self.bn3 = nn.BatchNorm2d(channels, affine=False)")),
]
