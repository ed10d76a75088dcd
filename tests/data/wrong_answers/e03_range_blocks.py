"""Exercise 3 (range-blocks): stack() itself builds `blocks` blocks (one projection, then
identities), BLOCKS_PER_STACK stays 2, and the seed's stack(blocks=3) builds 4."""

from cases import case

LOOP = "    for _ in range(blocks - 1):"
IDENTITY = "        layers.append(Block(filters * 2, filters, groups=groups, conv_shortcut=False))"

WRONG = [
    # the constant changed to 1, stack() left with the seed's bug
    case("constant_changed", "starter", ("BLOCKS_PER_STACK = 2\n", "BLOCKS_PER_STACK = 1\n"),
         ("SEED_STACK_BLOCKS_FOR_3 = None", "SEED_STACK_BLOCKS_FOR_3 = 4"),
         key="constant.changed", module="BLOCKS_PER_STACK"),
    # the count corrected at each call of stack(), the bug left inside it
    case("count_fixed_in_build", "starter",
         ("stack(16, 16, BLOCKS_PER_STACK,", "stack(16, 16, BLOCKS_PER_STACK - 1,"),
         ("stack(32, 32, BLOCKS_PER_STACK,", "stack(32, 32, BLOCKS_PER_STACK - 1,"),
         ("stack(64, 64, BLOCKS_PER_STACK,", "stack(64, 64, BLOCKS_PER_STACK - 1,"),
         ("SEED_STACK_BLOCKS_FOR_3 = None", "SEED_STACK_BLOCKS_FOR_3 = 4"),
         key="stack.count", module="stack"),
    # every block projects, the identity blocks included
    case("projects_everywhere", "solution",
         (IDENTITY, IDENTITY.replace("conv_shortcut=False", "conv_shortcut=True")),
         key="shortcut.kind", module="stack1.1"),
    case("seed_answer_wrong", "solution",
         ("SEED_STACK_BLOCKS_FOR_3 = 4", "SEED_STACK_BLOCKS_FOR_3 = 3"), key="answer.wrong"),
    case("one_block_too_few", "solution", (LOOP, "    for _ in range(blocks - 2):"),
         key="blocks.count", module="stack1"),
]

RIGHT = [
    case("range_from_one", "solution", (LOOP, "    for _ in range(1, blocks):")),
    case("answer_as_expression", "solution",
         ("SEED_STACK_BLOCKS_FOR_3 = 4", "SEED_STACK_BLOCKS_FOR_3 = 1 + 3")),
]
