"""Exercise 4 (cifar-stride): a projection exactly where the shape changes (stride or width),
the identity everywhere else; the network's widths and strides stay."""

from cases import case

RULE = "        if stride != 1 or in_channels != out_channels:"
RESIDUAL = "        residual = self.shortcut(x)"

WRONG = [
    case("projects_always", "solution", (RULE, "        if True:"),
         key="shortcut.kind", module="stage_1.stage_1_bottleneck_1"),
    # the network changed instead of the rule: stage_2 widened so that the widths differ
    case("network_widened", "starter",
         ("stages=(32, 128, 128, 256)", "stages=(32, 128, 256, 256)"), key="structure.changed"),
    # the stride of stage_2 removed
    case("stride_removed", "starter",
         ('self.stage_2 = self.block("stage_2", stages[1], stages[2], 2)',
          'self.stage_2 = self.block("stage_2", stages[1], stages[2], 1)'),
         key="structure.changed", module="stage_2.stage_2_bottleneck_0.conv_conv"),
    # the shortcut resized to fit
    case("interpolated_shortcut", "starter",
         (RESIDUAL, "        residual = F.interpolate(self.shortcut(x), size=bottleneck.shape[2:])"),
         key="shortcut.not_plain", module="stage_2.stage_2_bottleneck_0"),
    # the shortcut cropped to fit
    case("cropped_shortcut", "starter",
         (RESIDUAL, "        residual = self.shortcut(x)[:, :, :bottleneck.shape[2], "
                    ":bottleneck.shape[3]]"),
         key="shortcut.not_plain", module="stage_2.stage_2_bottleneck_0"),
    # only the stride counts: the first block, which widens 32 -> 128, loses its projection
    case("stride_only", "solution", (RULE, "        if stride != 1:"), key="basic.findings"),
]

RIGHT = [
    case("greater_than_one", "solution",
         (RULE, "        if stride > 1 or in_channels != out_channels:")),
    case("negated", "solution",
         (RULE, "        if not (stride == 1 and in_channels == out_channels):")),
]
