"""The four pages the exercises come from, named as their authors title them.

Learners look these pages up, so every exercise names them by their real titles (in Chinese,
with an English gloss in the English texts), never by an internal number.

    >>> INTERVIEW("zh")
    '面试页面《【CV面试必会】深度学习网络之Resnet》'
    >>> "365天深度学习训练营" in HOMEWORK("en")
    True
"""

from __future__ import annotations

from shapecheck.exercises.text import Text

# The original titles, as they appear on the pages (kept verbatim in both languages).
TITLES = ("365天深度学习训练营", "【CV面试必会】深度学习网络之Resnet", "ResNeXt与分组卷积")

HOMEWORK = Text("the 365天深度学习训练营 (365-day deep-learning boot camp) J6/J7 ResNeXt "
                "homework and its two answer pages",
                "365天深度学习训练营 J6/J7 的 ResNeXt 作业及其两篇解答")
SECOND_ANSWER = Text("the second answer page of the 365天深度学习训练营 J6/J7 ResNeXt homework",
                     "365天深度学习训练营 J6/J7 ResNeXt 作业的第二篇解答")
INTERVIEW = Text("the interview page 【CV面试必会】深度学习网络之Resnet (CV interview "
                 "essentials: ResNet)",
                 "面试页面《【CV面试必会】深度学习网络之Resnet》")
ARTICLE = Text("the article ResNeXt与分组卷积 (ResNeXt and grouped convolution)",
               "《ResNeXt与分组卷积》一文")
D2L = Text("d2l.ai section 8.6 (Residual Networks (ResNet) and ResNeXt)",
           "d2l.ai 第 8.6 节（残差网络 ResNet 与 ResNeXt）")


def cited(source: Text, what: Text) -> Text:
    """`source: what`, in both languages (an exercise's "From:" line).

    >>> cited(D2L, Text("exercises", "练习"))("zh")
    'd2l.ai 第 8.6 节（残差网络 ResNet 与 ResNeXt）：练习'
    """
    return Text(f"{source.en}: {what.en}", f"{source.zh}：{what.zh}")
