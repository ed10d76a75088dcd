"""Exercise 16 (resnet-table1): both models are Table 1's, block by block: the counts per
stage, the bottleneck's expansion, a projection exactly where a block changes the shape,
no bias, 1000 classes."""

from cases import case

LAYERS = "LAYERS_34 = (3, 4, 6, 3)\nLAYERS_50 = (3, 4, 6, 3)"
EXPANSION = '''    """1x1 down to `planes`, 3x3 (with the stride), 1x1 up to planes * expansion (ResNet-50+)."""

    expansion = 4'''
PROJECT = "    project = stride != 1 or in_planes != planes * block.expansion"
BOTTLENECK_STRIDES = ("        self.conv1 = conv_bn(in_planes, planes, 1)\n"
                      "        self.conv2 = conv_bn(planes, planes, 3, stride)")

WRONG = [
    # ResNet-34 left as the starter's ResNet-18
    case("resnet34_left_at_18", "solution", (LAYERS, "LAYERS_34 = (2, 2, 2, 2)\nLAYERS_50 = (3, 4, 6, 3)"),
         key="blocks.count", module="build"),
    # ResNet-101's counts for ResNet-50
    case("resnet50_as_101", "solution", (LAYERS, "LAYERS_34 = (3, 4, 6, 3)\nLAYERS_50 = (3, 4, 23, 3)"),
         key="blocks.count", module="build_resnet50"),
    # a wrong block count in one stage only
    case("one_stage_short", "solution", (LAYERS, "LAYERS_34 = (3, 4, 5, 3)\nLAYERS_50 = (3, 4, 6, 3)"),
         key="blocks.count", module="build"),
    # the starter's rule kept: conv2_x's first bottleneck widens 64 -> 256 with no projection
    case("missing_projection", "solution", (PROJECT, "    project = stride != 1"),
         key="table1.findings", module="stages.0.0"),
    case("expansion_2", "solution", (EXPANSION, EXPANSION.replace("expansion = 4", "expansion = 2")),
         key="blocks.shape", module="stages.0.0"),
    case("expansion_left_at_1", "solution", (EXPANSION, EXPANSION.replace("expansion = 4", "expansion = 1")),
         key="blocks.shape", module="stages.0.0"),
    # "always project" (option C of the paper): every block gets a 1x1 conv shortcut
    case("always_project", "solution", (PROJECT, "    project = True\n"
                                                 "    layers = [block(in_planes, planes, stride, project=project)]\n"
                                                 "    for _ in range(blocks - 1):\n"
                                                 "        layers.append(block(planes * block.expansion, planes, project=True))\n"
                                                 "    return nn.Sequential(*layers)"),
         key="shortcut.kind", module="stages.0.1"),
    case("bias_in_convs", "solution", ("padding=kernel_size // 2, bias=False)",
                                       "padding=kernel_size // 2, bias=True)"),
         key="params.block", module="stages.0.0"),
    case("ten_classes", "solution", ("    def __init__(self, block, layers, num_classes=1000):",
                                     "    def __init__(self, block, layers, num_classes=10):"),
         key="output.shape", module="build"),
    # stride on both the first 1x1 and the 3x3: the stage quarters the size
    case("double_stride", "solution", (BOTTLENECK_STRIDES, BOTTLENECK_STRIDES.replace(
        "conv_bn(in_planes, planes, 1)", "conv_bn(in_planes, planes, 1, stride)")),
         key="table1.findings", module="stages.1.0"),
]

RIGHT = [
    # the 2015 paper's bottleneck strides in its first 1x1 conv ("v1"); torchvision's v1.5
    # strides the 3x3: same shapes and parameters, accepted with a note
    case("stride_in_first_1x1", "solution", (BOTTLENECK_STRIDES, BOTTLENECK_STRIDES.replace(
        "conv_bn(in_planes, planes, 1)", "conv_bn(in_planes, planes, 1, stride)").replace(
        "conv_bn(planes, planes, 3, stride)", "conv_bn(planes, planes, 3)")), note=True),
]
