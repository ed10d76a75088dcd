"""Exercise 17 (homework-claims): each claim judged on the Report, True/False as booleans,
the "always project" cost measured on the model as given (not on a model changed to fit)."""

from cases import case

A = "CLAIM_A_BRANCH_NEVER_REACHED = False  # it runs in every block after a stack's first"
B = "CLAIM_B_INPUT_EQUALS_FILTERS_X2 = True  # not by chance: the first block projects"
C = "CLAIM_C_GROUPED_CHANGES_CHANNELS = False  # conv3, the last 1x1, doubles them"
PERCENT = "ALWAYS_PROJECT_PERCENT = 58.2  # of 25,028,904"
EXTRA = ("ALWAYS_PROJECT_EXTRA_PARAMS = (2 * (256 * 256 + 2 * 256) + 3 * (512 * 512 + 2 * 512)\n"
         "                               + 5 * (1024 * 1024 + 2 * 1024) + 2 * (2048 * 2048 + 2 * 2048))")

WRONG = [
    # the page's claims taken at their word
    case("branch_never_reached", "solution", (A, "CLAIM_A_BRANCH_NEVER_REACHED = True"),
         key="answer.wrong", module="CLAIM_A_BRANCH_NEVER_REACHED"),
    case("input_never_equals", "solution", (B, "CLAIM_B_INPUT_EQUALS_FILTERS_X2 = False"),
         key="answer.wrong", module="CLAIM_B_INPUT_EQUALS_FILTERS_X2"),
    case("grouped_changes_channels", "solution", (C, "CLAIM_C_GROUPED_CHANGES_CHANNELS = True"),
         key="answer.wrong", module="CLAIM_C_GROUPED_CHANGES_CHANNELS"),
    case("claim_as_string", "solution", (A, 'CLAIM_A_BRANCH_NEVER_REACHED = "False"'),
         key="answer.wrong", module="CLAIM_A_BRANCH_NEVER_REACHED"),
    case("claim_as_zero", "solution", (C, "CLAIM_C_GROUPED_CHANGES_CHANNELS = 0"),
         key="answer.wrong", module="CLAIM_C_GROUPED_CHANGES_CHANNELS"),
    # a projection counted for every one of the 16 blocks, although 4 already have one
    case("all_sixteen_projections", "solution",
         (EXTRA, "ALWAYS_PROJECT_EXTRA_PARAMS = 14_571_520 + 4_000_000"),
         key="answer.wrong", module="ALWAYS_PROJECT_EXTRA_PARAMS"),
    case("percent_of_the_projected_model", "solution", (PERCENT, "ALWAYS_PROJECT_PERCENT = 36.8"),
         key="answer.wrong", module="ALWAYS_PROJECT_PERCENT"),
    case("ratio_instead_of_percent", "solution", (PERCENT, "ALWAYS_PROJECT_PERCENT = 0.58"),
         key="answer.wrong", module="ALWAYS_PROJECT_PERCENT"),
    # the model changed so that the advice looks cheap: fewer identity blocks
    case("stack3_shortened", "solution",
         ("stack3=stack(512, 512, 5, strides=2, always_project=p)",
          "stack3=stack(512, 512, 1, strides=2, always_project=p)"), key="blocks.count"),
    # the advice applied to the model itself: every block projects
    case("advice_applied", "solution", ("    return resnext50()\n", "    return resnext50(True)\n"),
         key="structure.added"),
]

RIGHT = [
    case("rounded_numbers", "solution", (EXTRA, "ALWAYS_PROJECT_EXTRA_PARAMS = 14.6e6"),
         (PERCENT, "ALWAYS_PROJECT_PERCENT = 58")),
]
