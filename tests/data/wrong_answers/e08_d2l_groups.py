"""Exercise 8 (d2l-groups): 32 paths of 2 channels in both blocks, with d2l's class
unchanged, CARDINALITY unchanged and the 64-channel bottleneck kept."""

from cases import case

B1 = "        block1=resnext_block(128, CARDINALITY, bot_mul=0.5),"
B2 = "        block2=resnext_block(128, CARDINALITY, bot_mul=0.5),"

WRONG = [
    # d2l's class edited so that `groups` means the number of groups
    case("class_edited", "starter",
         ("                                   groups=bot_channels // groups)",
          "                                   groups=groups)"),
         key="code.changed", module="ResNeXtBlock"),
    # the constant that names the wanted paths changed until 64 // value = 32
    case("constant_changed", "starter",
         ("CARDINALITY = 32  # the number", "CARDINALITY = 2  # the number"),
         key="constant.changed", module="CARDINALITY"),
    # a 128-channel bottleneck: 32 groups, but not the bottleneck asked for
    case("bottleneck_widened", "solution",
         (B1, B1.replace("bot_mul=0.5", "bot_mul=1.0")), (B2, B2.replace("bot_mul=0.5", "bot_mul=1.0")),
         key="structure.changed", module="block1.conv1"),
    case("second_block_left", "solution",
         (B2, "        block2=ResNeXtBlock(128, groups=CARDINALITY, bot_mul=0.5),"),
         key="groups", module="block2.conv2"),
    case("projection_added", "solution",
         (B1, "        block1=ResNeXtBlock(128, groups=2, bot_mul=0.5, use_1x1conv=True),"),
         key="shortcut.kind", module="block1"),
]

RIGHT = [
    case("group_width_literal", "starter",
         ("        block1=ResNeXtBlock(128, groups=CARDINALITY, bot_mul=0.5),",
          "        block1=ResNeXtBlock(128, groups=2, bot_mul=0.5),"),
         ("        block2=ResNeXtBlock(128, groups=CARDINALITY, bot_mul=0.5),",
          "        block2=ResNeXtBlock(128, groups=2, bot_mul=0.5),")),
    case("group_width_computed", "starter",
         ("        block1=ResNeXtBlock(128, groups=CARDINALITY, bot_mul=0.5),",
          "        block1=ResNeXtBlock(128, groups=64 // CARDINALITY, bot_mul=0.5),"),
         ("        block2=ResNeXtBlock(128, groups=CARDINALITY, bot_mul=0.5),",
          "        block2=ResNeXtBlock(128, groups=64 // CARDINALITY, bot_mul=0.5),")),
]
