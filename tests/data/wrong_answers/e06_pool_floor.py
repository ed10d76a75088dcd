"""Exercise 6 (pool-floor): the shortcut rounds up as the strided conv does, at any size;
the main branch stays. A strided 1x1 conv is accepted with a note."""

from cases import case

POOL = "            nn.AvgPool2d(kernel_size=2, stride=2),\n"
RETURN = "        return self.relu(out + self.downsample(x))"

WRONG = [
    case("interpolated_shortcut", "starter",
         (RETURN, "        return self.relu(out + torch.nn.functional.interpolate("
                  "self.downsample(x), size=out.shape[2:]))"),
         key="shortcut.not_plain", module="down1"),
    case("padded_input", "starter",
         (RETURN, "        x = torch.nn.functional.pad(x, (0, x.shape[3] % 2, 0, x.shape[2] % 2))\n"
                  "        return self.relu(out + self.downsample(x))"),
         key="shortcut.not_plain"),
    # the main branch made to floor instead
    case("main_branch_floors", "starter",
         ("nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False)",
          "nn.Conv2d(in_channels, out_channels, 2, stride=2, padding=0, bias=False)"),
         key="structure.changed", module="down1.conv1"),
    case("input_changed", "starter", ("INPUT_SHAPE = (1, 3, 56, 56)", "INPUT_SHAPE = (1, 3, 64, 64)"),
         key="constant.changed"),
    # padding the pool fits 7x7 but breaks every even size
    case("pool_padded", "starter",
         (POOL, "            nn.AvgPool2d(kernel_size=2, stride=2, padding=1),\n"),
         key="basic.findings"),
]

RIGHT = [
    # ResNet-B's strided 1x1 conv: ceil(n / 2) too; accepted with a note
    case("strided_1x1", "starter",
         (POOL + "            nn.Conv2d(in_channels, out_channels, 1, bias=False),",
          "            nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False),"), note=True),
    case("ceil_mode_only", "starter",
         (POOL, "            nn.AvgPool2d(kernel_size=2, stride=2, ceil_mode=True),\n")),
]
