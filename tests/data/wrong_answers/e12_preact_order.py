"""Exercise 12 (preact-order): BN -> ReLU -> conv twice, a bare add (nothing after it), an
identity shortcut that carries x itself."""

from cases import case

RETURN = "        return out + shortcut  # no ReLU: the identity path stays clean"
PRE = "        out = F.relu(self.bn1(x))"
SHORTCUT = "        shortcut = x if self.shortcut is None else self.shortcut(out)"

WRONG = [
    case("bn_after_add", "solution", (RETURN, "        return self.bn2(out + shortcut)"),
         key="add.not_bare", module="layer1.0"),
    case("sigmoid_after_add", "solution", (RETURN, "        return torch.sigmoid(out + shortcut)"),
         key="add.not_bare", module="layer1.0"),
    case("clamp_after_add", "solution", (RETURN, "        return (out + shortcut).clamp(min=0)"),
         key="add.not_bare", module="layer1.0"),
    case("leaky_relu_after_add", "solution", (RETURN, "        return F.leaky_relu(out + shortcut)"),
         key="add.not_bare", module="layer1.0"),
    case("relu6_after_add", "solution", (RETURN, "        return F.relu6(out + shortcut)"),
         key="add.not_bare", module="layer1.0"),
    case("dropout_after_add", "solution",
         (RETURN, "        return F.dropout(out + shortcut, 0.1, self.training)"),
         key="add.not_bare", module="layer1.0"),
    case("relu_after_add", "solution", (RETURN, "        return F.relu(out + shortcut)"),
         key="add.not_bare", module="layer1.0"),
    # clamp(min=0) standing in for the ReLU before conv1
    case("clamp_before_conv", "solution", (PRE, "        out = self.bn1(x).clamp(min=0)"),
         key="order.conv_input", module="layer1.0"),
    # the identity shortcut takes the pre-activated input
    case("activated_identity", "solution",
         (SHORTCUT, "        shortcut = out if self.shortcut is None else self.shortcut(out)"),
         key="shortcut.activated", module="layer1.0"),
    case("bn_on_shortcut", "solution",
         (SHORTCUT, "        shortcut = self.bn1(x) if self.shortcut is None else self.shortcut(out)"),
         key="shortcut.not_plain", module="layer1.0"),
]

RIGHT = [
    case("relu_modules", "solution",
         ("        self.bn2 = nn.BatchNorm2d(planes)\n",
          "        self.bn2 = nn.BatchNorm2d(planes)\n        self.relu = nn.ReLU()\n"),
         (PRE, "        out = self.relu(self.bn1(x))"),
         ("        out = self.conv2(F.relu(self.bn2(out)))", "        out = self.conv2(self.relu(self.bn2(out)))")),
    case("torch_relu", "solution", (PRE, "        out = torch.relu(self.bn1(x))")),
]
