"""Edits of the user's source with libcst: formatting and comments stay as they were.

Each edit locates its node by the position the build recorded (`load.provenance.Span`)
and changes only the tokens it must: one argument of one call, one `if` condition.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider


class EditError(ValueError):
    """The node to edit is not where the recorded position says (the file changed)."""


def set_argument(source: str, line: int, column: int, parameter: str, value: str,
                 position: Optional[int] = None) -> str:
    """`source` with the call starting at `line`:`column` passing `parameter=value`.

    An existing keyword is replaced; a positional argument at index `position` is replaced
    in place; otherwise the keyword is appended.

    Example:
        >>> src = "x = Block(64, 128, use_1x1conv=False)  # first block\\n"
        >>> print(set_argument(src, 1, 4, "use_1x1conv", "True"), end="")
        x = Block(64, 128, use_1x1conv=True)  # first block
        >>> print(set_argument("y = f(a)\\n", 1, 4, "strides", "2"), end="")
        y = f(a, strides=2)
    """
    tree = MetadataWrapper(cst.parse_module(source))
    call = _call_at(tree, line, column)
    new_value = cst.parse_expression(value)
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == parameter:
            args[index] = arg.with_changes(value=new_value)
            break
    else:
        positional = [i for i, a in enumerate(args) if a.keyword is None and not a.star]
        if position is not None and position < len(positional):
            index = positional[position]
            args[index] = args[index].with_changes(value=new_value)
        else:
            if args:
                args[-1] = args[-1].with_changes(comma=cst.Comma(
                    whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(cst.Arg(value=new_value, keyword=cst.Name(parameter), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""))))
    return _replace(tree, call, call.with_changes(args=args))


def widen_condition(source: str, line: int, guard: str) -> str:
    """`source` with the `if` at `line` taking `guard or (its test)`.

    Example:
        >>> src = "if in_channels != out_channels:  # project\\n    pass\\n"
        >>> print(widen_condition(src, 1, "stride != 1"), end="")
        if stride != 1 or in_channels != out_channels:  # project
            pass
    """
    tree = MetadataWrapper(cst.parse_module(source))
    node = _if_at(tree, line)
    test = cst.BooleanOperation(left=cst.parse_expression(guard), operator=cst.Or(),
                                right=node.test)
    return _replace(tree, node, node.with_changes(test=test))


def and_to_or(source: str, line: int) -> str:
    """`source` with the top-level `and` of the `if` test at `line` made an `or`.

    Example:
        >>> print(and_to_or("if stride != 1 and a != b:\\n    pass\\n", 1), end="")
        if stride != 1 or a != b:
            pass
    """
    tree = MetadataWrapper(cst.parse_module(source))
    node = _if_at(tree, line)
    if not (isinstance(node.test, cst.BooleanOperation) and isinstance(node.test.operator,
                                                                        cst.And)):
        raise EditError(f"line {line}: the condition has no top-level `and`")
    operator = cst.Or(whitespace_before=node.test.operator.whitespace_before,
                      whitespace_after=node.test.operator.whitespace_after)
    return _replace(tree, node, node.with_changes(
        test=node.test.with_changes(operator=operator)))


def if_tests(source: str, first_line: int) -> list[tuple[int, str]]:
    """The `if` statements of the function defined at `first_line`: (line, test source).

    Example:
        >>> src = "def f(a, stride):\\n    if a != 2:\\n        pass\\n"
        >>> if_tests(src, 1)
        [(2, 'a != 2')]
    """
    tree = MetadataWrapper(cst.parse_module(source))
    positions = tree.resolve(PositionProvider)
    function = next((where for node, where in positions.items()
                     if isinstance(node, cst.FunctionDef) and where.start.line <= first_line
                     <= positions[node.body].start.line), None)
    if function is None:
        return []
    return sorted((where.start.line, tree.module.code_for_node(node.test))
                  for node, where in positions.items()
                  if isinstance(node, cst.If) and function.start.line < where.start.line
                  <= function.end.line)


def _call_at(tree: MetadataWrapper, line: int, column: int) -> cst.Call:
    positions = tree.resolve(PositionProvider)
    best = None
    for node, where in positions.items():
        if isinstance(node, cst.Call) and where.start.line == line and \
                where.start.column == column:
            best = node
    if best is None:  # the recorded span may start at the callee's name, not the call
        for node, where in positions.items():
            if isinstance(node, cst.Call) and where.start.line <= line <= where.end.line and (
                    best is None or where.start.column >= positions[best].start.column):
                if where.start.line == line and where.start.column <= column:
                    best = node
    if best is None:
        raise EditError(f"no call at line {line}, column {column}")
    return best


def _if_at(tree: MetadataWrapper, line: int) -> cst.If:
    positions = tree.resolve(PositionProvider)
    for node, where in positions.items():
        if isinstance(node, cst.If) and where.start.line == line:
            return node
    raise EditError(f"no `if` at line {line}")


def _replace(tree: MetadataWrapper, old: cst.CSTNode, new: cst.CSTNode) -> str:
    return tree.module.deep_replace(old, new).code
