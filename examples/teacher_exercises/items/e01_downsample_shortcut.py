"""A teacher's own exercise: a downsampling block whose shortcut was left as the identity.

This folder has the layout of shapecheck's built-in exercises (items/, starters/,
solutions/), so `shapecheck exercises --exercises examples/teacher_exercises list` lists it
and `... check 1 FILE` grades it. See docs/exercises.md, "Your own exercises".
"""

from shapecheck.exercises import Exercise
from shapecheck.exercises.describe import shape
from shapecheck.exercises.items.common import same_blocks_as_reference
from shapecheck.exercises.items.properties import (plain_shortcuts, shortcuts_as_reference,
                                                   structure_kept)
from shapecheck.i18n import Text

EXPLAIN = Text("The block now adds {main} + {short}: the 1x1 conv on the shortcut has the "
               "stride of the main branch and its width.",
               "这个块现在相加的是 {main} + {short}：捷径上的 1x1 卷积与主分支的步幅和宽度一致。")


def explain(attempt):
    add = attempt.add("block")
    return EXPLAIN(attempt.lang, main=shape(add.shapes[0]), short=shape(add.shapes[1]))


EXERCISE = Exercise(
    number=1,
    slug="downsample-shortcut",
    title=Text("A downsampling block needs a strided shortcut", "下采样的块需要带步幅的捷径"),
    source=Text("our course, week 3", "本课程第 3 周"),
    question=Text("The block halves the size and doubles the width, but its shortcut is the "
                  "input itself. Give it a projection shortcut; keep the main branch.",
                  "这个块把尺寸减半、通道加倍，捷径却是输入本身。请给它加上投影捷径，主分支保持不变。"),
    hints=(Text("Read the finding: which two shapes are added?", "看诊断：相加的是哪两个形状？"),
           Text("nn.Conv2d(16, 32, 1, stride=2) on the shortcut.",
                "在捷径上用 nn.Conv2d(16, 32, 1, stride=2)。")),
    # the main branch stays the starter's; only the shortcut may gain layers
    criteria=(same_blocks_as_reference, shortcuts_as_reference(), plain_shortcuts(),
              structure_kept({"block.shortcut*": None})),
    explain=explain,
    difficulty=1,
)
