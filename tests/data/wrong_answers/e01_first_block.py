"""Exercise 1 (first-block): b3.0 must project (1x1 conv, stride 2) and halve the size; the
rest of d2l's ResNet-18 stays as it is. He et al.'s option A is accepted with a note."""

from cases import case

B3 = "        b3=nn.Sequential(*resnet_block(64, 128, 2)),"
ADD = "        Y += X\n"
BLOCK_FN = "def resnet_block("
OPTION_A = '''class OptionA(Residual):
    """He et al.'s option A: subsample the input, zero-pad the new channels."""

    def __init__(self, input_channels, num_channels):
        super().__init__(input_channels, num_channels, strides=2)
        self.extra = num_channels - input_channels

    def forward(self, X):
        Y = self.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        Y += torch.nn.functional.pad(X[:, :, ::2, ::2], (0, 0, 0, 0, 0, self.extra))
        return self.relu(Y)


def resnet_block('''

WRONG = [
    # the add is removed: every block is a plain stack of convs, and nothing fails
    case("no_residual_add", "solution", (ADD, "        pass\n"), key="blocks.count"),
    # b3 projects without a stride; a max-pool after the stage halves the size instead
    case("pool_after_stage", "solution",
         (B3, "        b3=nn.Sequential(Residual(64, 128, use_1x1conv=True), Residual(128, 128),"
              " nn.MaxPool2d(2)),"), key="blocks.shape", module="b3.0"),
    # every block of b3 projects, the identity block b3.1 included
    case("projects_everywhere", "solution",
         (B3, "        b3=nn.Sequential(Residual(64, 128, use_1x1conv=True, strides=2),"
              " Residual(128, 128, use_1x1conv=True)),"), key="shortcut.kind", module="b3.1"),
    # the shortcut is resized to fit (interpolate + zero channels): a shape patch, not option A
    case("interpolated_shortcut", "solution",
         (BLOCK_FN, OPTION_A.replace("X[:, :, ::2, ::2]",
                                     "torch.nn.functional.interpolate(X, scale_factor=0.5)")),
         (B3, "        b3=nn.Sequential(OptionA(64, 128), Residual(128, 128)),"),
         key="shortcut.not_plain", module="b3.0"),
    # the projections of b4 and b5 are changed too (3x3 instead of the book's 1x1)
    case("3x3_projections", "solution",
         ("nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)",
          "nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1, stride=strides)"),
         key="structure.changed"),
    # first_block removed from b2 as well: b2.0 now projects and halves the size
    case("b2_also_projects", "solution",
         ("resnet_block(64, 64, 2, first_block=True)", "resnet_block(64, 64, 2)"),
         key="blocks.shape", module="b2.0"),
]

RIGHT = [
    case("explicit_first_block_false", "solution",
         (B3, "        b3=nn.Sequential(*resnet_block(64, 128, 2, first_block=False)),")),
    case("blocks_by_hand", "solution",
         (B3, "        b3=nn.Sequential(Residual(64, 128, use_1x1conv=True, strides=2),"
              " Residual(128, 128)),")),
    # He et al.'s option A (parameter-free shortcut), accepted with a note
    case("option_a_zero_padding", "solution", (BLOCK_FN, OPTION_A),
         (B3, "        b3=nn.Sequential(OptionA(64, 128), Residual(128, 128)),"), note=True),
]
