"""Exercise 15 (why-residual): each wrong letter is a misconception, rejected with its own
reason; the stack the second answer is measured on stays as the starter has it."""

from cases import case

Q1 = 'DEEP_PLAIN_NETS = "b"  # degradation, not over-fitting'
Q2 = 'SHORTCUTS_HELP = "c"  # the identity term of dy/dx'

WRONG = [
    case("overfitting", "solution", (Q1, 'DEEP_PLAIN_NETS = "a"'),
         key="answer.wrong", module="DEEP_PLAIN_NETS"),
    case("memory", "solution", (Q1, 'DEEP_PLAIN_NETS = "c"'),
         key="answer.wrong", module="DEEP_PLAIN_NETS"),
    case("more_data", "solution", (Q1, 'DEEP_PLAIN_NETS = "d"'),
         key="answer.wrong", module="DEEP_PLAIN_NETS"),
    case("overfitting_in_words", "solution", (Q1, 'DEEP_PLAIN_NETS = "over-fitting"'),
         key="answer.wrong", module="DEEP_PLAIN_NETS"),
    case("learning_rate", "solution", (Q2, 'SHORTCUTS_HELP = "a"'),
         key="answer.wrong", module="SHORTCUTS_HELP"),
    case("batchnorm", "solution", (Q2, 'SHORTCUTS_HELP = "b"'),
         key="answer.wrong", module="SHORTCUTS_HELP"),
    case("layers_skipped", "solution", (Q2, 'SHORTCUTS_HELP = "d"'),
         key="answer.wrong", module="SHORTCUTS_HELP"),
    case("both_letters", "solution", (Q2, 'SHORTCUTS_HELP = "b, c"'),
         key="answer.wrong", module="SHORTCUTS_HELP"),
    # the stack measured without its shortcuts: the point of the second answer removed
    case("shortcuts_removed", "solution",
         ("            x = x + layer(x) if self.residual else layer(x)",
          "            x = layer(x)"), key="blocks.count"),
    case("shallower_stack", "solution", ("WIDTH, DEPTH = 64, 32", "WIDTH, DEPTH = 64, 4"),
         key="blocks.count"),
]

RIGHT = [
    case("capital_letters", "solution", (Q1, 'DEEP_PLAIN_NETS = "B"'), (Q2, 'SHORTCUTS_HELP = "(c)"')),
]
