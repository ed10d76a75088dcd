"""Exercise 2 (keras-shortcut): stack2.0 projects, every other shortcut stays as the seed has
it, and ADD_PADS_OR_BROADCASTS is False (an add never pads)."""

from cases import case

ADD = "        x = x + shortcut  # Keras: x = Add()([x, shortcut])\n"
IDENTITY = "        layers.append(Block(filters * 2, filters, groups=groups, conv_shortcut=False))\n"

WRONG = [
    # "always project": right in stack2.0, wrong everywhere the identity was correct
    case("projects_everywhere", "solution",
         (IDENTITY, IDENTITY.replace("conv_shortcut=False", "conv_shortcut=True")),
         key="shortcut.kind", module="stack1.1"),
    case("claim_left_true", "solution",
         ("ADD_PADS_OR_BROADCASTS = False", "ADD_PADS_OR_BROADCASTS = True"), key="answer.wrong"),
    case("claim_as_a_string", "solution",
         ("ADD_PADS_OR_BROADCASTS = False", 'ADD_PADS_OR_BROADCASTS = "False"'),
         key="answer.wrong"),
    # page 000's belief made true by hand: subsample and zero-pad the shortcut until it fits
    case("pads_by_hand", "starter",
         ("ADD_PADS_OR_BROADCASTS = True", "ADD_PADS_OR_BROADCASTS = False"),
         (ADD, "        if shortcut.shape != x.shape:  # pad it, as page 000 says Add does\n"
               "            shortcut = torch.nn.functional.pad(shortcut[:, :, ::2, ::2], "
               "(0, 0, 0, 0, 0, x.shape[1] - shortcut.shape[1]))\n"
               "        x = x + shortcut\n"),
         key="shortcut.not_plain", module="stack2.0"),
    # the stride of stack2 dropped so that only the width is left to project
    case("stride_removed", "solution",
         ("stack2=stack(64, 64, 1, strides=2, groups=8)", "stack2=stack(64, 64, 1, strides=1, groups=8)"),
         key="structure.changed", module="stack2.0.grouped"),
    case("input_changed", "solution",
         ("INPUT_SHAPE = (1, 3, 64, 64)", "INPUT_SHAPE = (1, 3, 32, 32)"), key="constant.changed"),
]

RIGHT = [
    # stack_simplified kept, with its first block projecting again
    case("simplified_first_block_projects", "starter",
         ("ADD_PADS_OR_BROADCASTS = True", "ADD_PADS_OR_BROADCASTS = False"),
         ("    layers = [Block(in_channels, filters, strides=strides, groups=groups, "
          "conv_shortcut=False)]\n    for _ in range(blocks):\n        layers.append(Block(filters * 2, "
          "filters, groups=groups, conv_shortcut=False))\n    return nn.Sequential(*layers)\n\n\ndef build",
          "    layers = [Block(in_channels, filters, strides=strides, groups=groups)]\n"
          "    for _ in range(blocks):\n        layers.append(Block(filters * 2, filters, "
          "groups=groups, conv_shortcut=False))\n    return nn.Sequential(*layers)\n\n\ndef build")),
    case("claim_computed", "solution",
         ("ADD_PADS_OR_BROADCASTS = False", "ADD_PADS_OR_BROADCASTS = 1 > 2")),
]
