"""Exercise 10 (grouped-saving): the 3x3 conv in 32 groups, and both savings (32) measured."""

from cases import case

WRONG = [
    case("saving_inverted", "solution", ("PARAM_SAVING = GROUPS", "PARAM_SAVING = 1 / GROUPS"),
         key="answer.wrong", module="PARAM_SAVING"),
    case("mac_saving_one", "solution", ("MAC_SAVING = GROUPS", "MAC_SAVING = 1"),
         key="answer.wrong", module="MAC_SAVING"),
    case("16_groups", "solution", ("GROUPS = 32", "GROUPS = 16"), key="groups", module="unit.conv"),
    case("depthwise", "solution", ("GROUPS = 32", "GROUPS = 128"), key="groups", module="unit.conv"),
    # a 1x1 kernel "saves" 9x more: not the conv the question is about
    case("kernel_shrunk", "solution",
         ("nn.Conv2d(channels, channels, 3, padding=1, groups=groups, bias=False)",
          "nn.Conv2d(channels, channels, 1, padding=0, groups=groups, bias=False)"),
         key="structure.changed", module="unit.conv"),
    case("add_removed", "solution", ("return self.relu(x + self.bn(self.conv(x)))",
                                     "return self.relu(self.bn(self.conv(x)))"),
         key="blocks.count"),
]

RIGHT = [
    case("literals", "solution", ("PARAM_SAVING = GROUPS", "PARAM_SAVING = 32.0"),
         ("MAC_SAVING = GROUPS", "MAC_SAVING = 32")),
    case("computed_ratio", "solution",
         ("PARAM_SAVING = GROUPS", "PARAM_SAVING = (128 * 128 * 9) / (32 * 4 * 4 * 9)")),
]
