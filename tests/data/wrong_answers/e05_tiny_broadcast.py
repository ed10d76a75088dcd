"""Exercise 5 (tiny-broadcast): the stride-2 block projects (strided 1x1 conv); widths and
strides stay; clean at 8x8, 16x16 and 32x32."""

from cases import case

STACK2 = "        stack2=nn.Sequential(Block(16, 8, strides=2, groups=4, conv_shortcut=True)),"
ADD = "        x = x + shortcut\n"

WRONG = [
    case("stride_removed", "solution",
         (STACK2, "        stack2=nn.Sequential(Block(16, 8, strides=1, groups=4, conv_shortcut=False)),"),
         key="structure.changed", module="stack2.0.grouped"),
    # the identity subsampled by hand instead of projected
    case("subsampled_identity", "starter",
         (ADD, "        if shortcut.shape != x.shape:\n"
               "            shortcut = shortcut[:, :, ::2, ::2]\n"
               "        x = x + shortcut\n"),
         key="shortcut.not_plain", module="stack2.0"),
    # the main branch pooled to the shortcut's size: the stride is undone, the identity kept
    case("main_branch_resized", "starter",
         (ADD, "        x = torch.nn.functional.interpolate(x, size=shortcut.shape[2:]) + shortcut\n"),
         key="shortcut.kind", module="stack2.0"),
    case("projects_everywhere", "solution",
         ("Block(16, 8, groups=4, conv_shortcut=False)),", "Block(16, 8, groups=4, conv_shortcut=True)),"),
         key="shortcut.kind", module="stack1.1"),
    case("input_changed", "solution",
         ("INPUT_SHAPE = (1, 3, 8, 8)", "INPUT_SHAPE = (1, 3, 16, 16)"), key="constant.changed"),
]

RIGHT = [
    case("default_projects", "solution",
         (STACK2, "        stack2=nn.Sequential(Block(16, 8, strides=2, groups=4)),")),
]
