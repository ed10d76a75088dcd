"""Exercise 7 (cardinality): both blocks keep their residual add and become 32 paths of 4
channels (32x4d) at the question's input and cardinality."""

from cases import case

WIDTH = "    width = CARDINALITY * GROUP_WIDTH\n"

WRONG = [
    # the add deleted: nothing fails, but it is no longer a residual block
    case("no_residual_add", "solution", ("        return self.relu(out + x)", "        return self.relu(out)"),
         key="blocks.count"),
    # the input widened until channels // 2 = 64 splits into 32 groups
    case("input_changed", "starter", ("INPUT_SHAPE = (1, 96, 16, 16)", "INPUT_SHAPE = (1, 128, 16, 16)"),
         key="constant.changed", module="INPUT_SHAPE"),
    # the cardinality lowered until it divides 48
    case("cardinality_changed", "starter", ("CARDINALITY = 32", "CARDINALITY = 16"),
         key="constant.changed", module="CARDINALITY"),
    # 32 paths of 2 channels: it builds, but it is not 32x4d
    case("group_width_2", "solution", ("GROUP_WIDTH = 4 ", "GROUP_WIDTH = 2 "), key="groups",
         module="block1.conv2"),
    # 4 paths of 32 channels: the width is right, the cardinality is not
    case("groups_swapped", "solution",
         ("        block1=ResNeXtBlock(channels, CARDINALITY, width=width),",
          "        block1=ResNeXtBlock(channels, GROUP_WIDTH, width=width),"),
         key="groups", module="block1.conv2"),
]

RIGHT = [
    case("width_literal", "solution", (WIDTH, "    width = 128\n")),
    case("width_from_the_template", "starter",
         ("width=channels // 2),\n        block2", "width=CARDINALITY * 4),\n        block2"),
         ("width=channels // 2),\n    ))", "width=CARDINALITY * 4),\n    ))")),
]
