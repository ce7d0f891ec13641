"""A safe arithmetic evaluator for the calculator tool: the expression is parsed, never `eval`ed.

Numbers, + - * / // % **, parentheses, the constants pi, e, tau and a few math functions. Anything else (names,
attributes, subscripts, strings, comprehensions) is refused, and so are results or powers too large to compute
quickly, so a model (or a document talking to it) cannot make the calculator run code or hang.
"""

from __future__ import annotations

import ast
import math
import operator

from app.core.errors import InvalidInput

MAX_EXPRESSION_CHARS = 500
MAX_EXPONENT = 10_000
MAX_INT_DIGITS = 5_000

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}  # fmt: skip
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
_FUNCTIONS = {
    "sqrt": math.sqrt, "abs": abs, "round": round, "min": min, "max": max, "floor": math.floor, "ceil": math.ceil,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "log": math.log, "log10": math.log10, "exp": math.exp,
}  # fmt: skip


def evaluate(expression: str) -> int | float:
    """The value of `expression`; InvalidInput (one line) for anything that is not plain arithmetic."""
    text = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not text:
        raise InvalidInput("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise InvalidInput(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise InvalidInput(f"not an arithmetic expression: {expression!r}") from None
    try:
        return _value(tree.body)
    except ZeroDivisionError:
        raise InvalidInput("division by zero") from None
    except (OverflowError, ValueError) as exc:
        raise InvalidInput(f"cannot compute that: {exc}") from None


def _value(node: ast.expr) -> int | float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise InvalidInput(f"an exponent above {MAX_EXPONENT} is not computed")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, complex):
            raise InvalidInput("the result is not a real number")
        if isinstance(result, int) and result.bit_length() > MAX_INT_DIGITS * 3.33:
            raise InvalidInput(f"the result has more than {MAX_INT_DIGITS} digits")
        return result
    if (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
        and not node.keywords and node.args
    ):  # fmt: skip
        return _FUNCTIONS[node.func.id](*(_value(arg) for arg in node.args))
    raise InvalidInput(f"not allowed in an expression: {ast.unparse(node)!r}")
