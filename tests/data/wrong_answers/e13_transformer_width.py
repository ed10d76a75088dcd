"""Exercise 13 (transformer-width): the attention's output projection maps back to the
model's width; every add stays an identity add of a branch that ends in its own layer."""

from cases import case

PROJ = "        return self.proj(out)\n"
ADD = "        x = x + self.attn(self.norm1(x))"
NORM2 = "        self.norm2 = nn.LayerNorm(dim)"

WRONG = [
    # the too-wide output sliced down to the stream's width
    case("sliced_output", "starter", (PROJ, "        return self.proj(out)[..., :96]\n"),
         key="branch.not_layer", module="layer1"),
    # every fourth feature, repeated three times: 96 features, none of them right
    case("strided_and_repeated", "starter", (PROJ, "        return self.proj(out)[..., ::4].repeat(1, 1, 3)\n"),
         key="branch.not_layer", module="layer1"),
    # shapecheck's first idea for a CNN: a Linear on the shortcut (the stream widens)
    case("shortcut_widened", "starter", (ADD, "        x = self.widen(x) + self.attn(self.norm1(x))"),
         (NORM2, "        self.widen = nn.Linear(dim, 128)\n" + NORM2),
         key="shortcut.kind", module="layer1"),
    # the whole model widened to the attention's width
    case("model_widened", "starter", ("INPUT_SHAPE = (1, 16, 96)", "INPUT_SHAPE = (1, 16, 128)"),
         key="constant.changed"),
    # an extra layer after the attention instead of fixing its projection
    case("extra_layer", "starter", (ADD, "        x = x + self.down(self.attn(self.norm1(x)))"),
         (NORM2, "        self.down = nn.Linear(128, dim)\n" + NORM2),
         key="structure.added", module="layer1.down"),
    # the heads shrunk until heads * head_dim = 96: not the attention the question has
    case("heads_shrunk", "starter", ("def __init__(self, dim, heads=4, head_dim=32):",
                                     "def __init__(self, dim, heads=4, head_dim=24):"),
         key="structure.changed", module="layer1.attn.qkv"),
]

RIGHT = [
    case("heads_times_head_dim", "solution",
         ("        self.proj = nn.Linear(inner, dim)", "        self.proj = nn.Linear(heads * head_dim, dim)")),
]
