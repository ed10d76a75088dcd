"""Exercise 11 (split-transform-merge): map_weights() alone makes the grouped block compute
the branches' sum; compared before map_weights() can touch the models, on several seeds."""

from cases import case

TODO = "        # the grouped 3x3 conv: still to do (分组 3x3 卷积：尚未完成)\n"
RETURN = "    return grouped\n\n\nif __name__"

WRONG = [
    # forward of `grouped` replaced by the aggregated one (the 3x3 still unmapped)
    case("forward_replaced", "starter", (TODO, TODO + "    grouped.forward = aggregated.forward\n"),
         key="equivalence.outputs"),
    # both models zeroed: they agree, on nothing
    case("both_zeroed", "starter",
         (TODO, TODO + "        for p in list(aggregated.parameters()) + list(grouped.parameters()):\n"
                       "            p.zero_()\n"),
         key="equivalence.outputs"),
    # only the expand weights zeroed, on both sides
    case("expand_zeroed", "starter",
         (TODO, TODO + "        grouped.expand.weight.zero_()\n"
                       "        for b in aggregated.branches:\n            b.expand.weight.zero_()\n"),
         key="equivalence.outputs"),
    # the class's forward swapped at run time
    case("class_forward_swapped", "starter",
         (RETURN, "    type(grouped).forward = lambda self, x: aggregated(x)\n" + RETURN),
         key="equivalence.tampered"),
    # a layer of `grouped` replaced instead of filled
    case("layer_replaced", "starter", (TODO, TODO + "    grouped.conv = nn.Identity()\n"),
         key="equivalence.layers_replaced"),
    # the architecture edited: the grouped conv made dense
    case("architecture_edited", "solution",
         ("self.conv = nn.Conv2d(inner, inner, 3, padding=1, groups=cardinality, bias=False)",
          "self.conv = nn.Conv2d(inner, inner, 3, padding=1, bias=False)"),
         key="code.changed", module="GroupedBottleneck"),
    # the kernels stacked along the wrong dimension: copy_ raises in the learner's code
    case("wrong_dimension", "starter",
         (TODO, "        grouped.conv.weight.copy_(torch.cat([b.conv.weight for b in branches], dim=1))\n"),
         key="learner_code"),
]

RIGHT = [
    case("loop", "starter",
         (TODO, "        for i, b in enumerate(branches):\n"
                "            grouped.conv.weight[WIDTH * i:WIDTH * (i + 1)].copy_(b.conv.weight)\n")),
]
