"""The grammar of `[variables]`: a derived variable is a small expression over the user's
columns and the study's variables, parsed here into a tree and never evaluated as code.

    expr := NUMBER | NAME | "text" | FUNCTION "(" expr { "," expr } ")"

NAME is a letter or underscore followed by letters, digits or underscores; a quoted "text"
names anything else (a Chinese header, a header with spaces; a backslash takes the next
character as it is, so \" is a quote inside the name). Both refer to, in this order:
another `[variables]` entry, a variable the study builds (ln_gdp_pc, ...), a role mapped in
`[inputs]` or `[components]`, or a column of the user's file by its header; `column("...")`
always means the file's column. The functions (analysis.prepare.user_variables computes
them, unit by unit and year by year):

| function | value |
|---|---|
| log(x) | natural log of x (x > 0) |
| ratio(a, b) | a / b (b != 0) |
| product(a, b, ...) | a * b * ... |
| difference(a, b) | a - b |
| share(a, b, ...) | a / (a + b + ...) |
| lag(x) | x of the same unit in the previous period (missing in its first period) |
| above_median(x) | 1 for units whose mean of x before the first treated period is above the median unit's, else 0 |
| above_median(x, year) | 1 for units whose x in that period is above that period's median, else 0 |
| column("header") | the file's column of that header |
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# function -> (least, most) arguments (None: no upper bound)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "log": (1, 1),
    "ratio": (2, 2),
    "product": (2, None),
    "difference": (2, 2),
    "share": (2, None),
    "lag": (1, 1),
    "above_median": (1, 2),
    "column": (1, 1),
}
# Functions whose value is one 0/1 flag per unit (a moderator's split), not a time series.
UNIT_LEVEL = ("above_median",)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?")


class ExpressionError(ValueError):
    """A fault in an expression, at a 1-based character position."""

    def __init__(self, position: int, message: str) -> None:
        super().__init__(f"position {position}: {message}")
        self.position = position


@dataclass(frozen=True)
class Ref:
    """A reference to a variable, role or column; `quoted` when written as "text";
    `column` when written as column("text")."""

    name: str
    position: int
    quoted: bool = False
    column: bool = False


@dataclass(frozen=True)
class Num:
    value: float
    position: int


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]
    position: int


Node = Ref | Num | Call


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def _skip(self) -> None:
        while self.i < len(self.text) and self.text[self.i].isspace():
            self.i += 1

    def _error(self, message: str) -> ExpressionError:
        return ExpressionError(self.i + 1, message)

    def _peek(self) -> str:
        self._skip()
        return self.text[self.i] if self.i < len(self.text) else ""

    def _expect(self, char: str, what: str) -> None:
        if self._peek() != char:
            found = repr(self._peek()) if self._peek() else "the end"
            raise self._error(f"expected {what}, found {found}")
        self.i += 1

    def _string(self) -> str:
        """A quoted name; a backslash takes the next character as it is (\\" or \\\\)."""
        start = self.i
        self.i += 1
        chars: list[str] = []
        while self.i < len(self.text) and self.text[self.i] != '"':
            if self.text[self.i] == "\\" and self.i + 1 < len(self.text):
                self.i += 1
            chars.append(self.text[self.i])
            self.i += 1
        if self.i >= len(self.text):
            self.i = start
            raise self._error('a quoted name is not closed (missing ")')
        self.i += 1
        value = "".join(chars)
        if not value.strip():
            self.i = start
            raise self._error("an empty quoted name")
        return value

    def expr(self) -> Node:
        char = self._peek()
        pos = self.i + 1
        if not char:
            raise self._error("expected a name, a number or a function, found the end")
        if char == '"':
            return Ref(self._string(), pos, quoted=True)
        number = _NUMBER.match(self.text, self.i)
        if number and (char.isdigit() or char in "-."):
            self.i = number.end()
            return Num(float(number.group()), pos)
        name = IDENTIFIER.match(self.text, self.i)
        if not name:
            raise self._error(f"unexpected {char!r}: expected a name, a number or a function")
        self.i = name.end()
        if self._peek() != "(":
            return Ref(name.group(), pos)
        return self._call(name.group(), pos)

    def _call(self, function: str, pos: int) -> Node:
        if function not in FUNCTIONS:
            self.i = pos - 1
            raise self._error(
                f"unknown function '{function}'; allowed: {', '.join(sorted(FUNCTIONS))}"
            )
        self.i += 1  # the "("
        args: list[Node] = [self.expr()]
        while self._peek() == ",":
            self.i += 1
            args.append(self.expr())
        self._expect(")", "',' or ')'")
        least, most = FUNCTIONS[function]
        if len(args) < least or (most is not None and len(args) > most):
            count = (
                str(least)
                if least == most
                else f"{least} or more"
                if most is None
                else f"{least} to {most}"
            )
            raise ExpressionError(pos, f"{function}() takes {count} argument(s), got {len(args)}")
        if function == "column":
            if not (isinstance(args[0], Ref) and args[0].quoted):
                raise ExpressionError(pos, 'column() takes a quoted header, e.g. column("GDP")')
            return Ref(args[0].name, pos, quoted=True, column=True)
        if function == "above_median" and len(args) == 2 and not isinstance(args[1], Num):
            raise ExpressionError(pos, "above_median(x, year): the year must be a number")
        for arg in args[:1] if function == "above_median" else args:
            if isinstance(arg, Call) and arg.function in UNIT_LEVEL:
                raise ExpressionError(
                    arg.position, f"{arg.function}() is a unit's flag, not a series"
                )
        return Call(function, tuple(args), pos)


def parse(text: str) -> Node:
    """The expression's tree; an ExpressionError names the position of the first fault."""
    parser = _Parser(text)
    node = parser.expr()
    if parser._peek():
        raise parser._error(f"unexpected {parser._peek()!r} after a complete expression")
    return node


def references(node: Node) -> list[Ref]:
    """The references of an expression, in the order written."""
    if isinstance(node, Ref):
        return [node]
    if isinstance(node, Call):
        return [r for arg in node.args for r in references(arg)]
    return []


def unit_level(node: Node) -> bool:
    """Whether the expression gives one value per unit (a split rule)."""
    return isinstance(node, Call) and node.function in UNIT_LEVEL
