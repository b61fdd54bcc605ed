"""A small evaluator for the subset of CEL used in CRD ``x-kubernetes-validations`` rules.

Supported: ``self``/``oldSelf``, field access (``self.a.b``), indexing (``self.a[0]``,
``self.m['k']``), literals (int, float, string, bool, null, lists), ``! - * / % + -``,
comparisons (``== != < <= > >= in``), ``&& ||``, the ternary ``? :``,
``has(self.x)``, ``size(x)``/``x.size()``, ``x.startsWith()``/``endsWith()``/``contains()``/
``matches()``, ``x.all(v, pred)``, ``x.exists(v, pred)``, ``x.exists_one(v, pred)``,
``int()``/``string()``/``type()``-free conversions ``int(x)``, ``string(x)``.

Anything else raises :class:`UnsupportedRule` at parse time, so the caller skips the rule.
Evaluation errors (missing keys, wrong types) raise :class:`RuleError`, which the API
server reports as a validation failure, as the real one does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from controller.api import patterns

__all__ = ["CompiledRule", "RuleError", "UnsupportedRule", "compile_rule"]


class UnsupportedRule(Exception):
    """The rule uses syntax this evaluator does not understand."""


class RuleError(Exception):
    """The rule could not be evaluated on this value (e.g. ``no such key: x``)."""


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<float>\d+\.\d+(?:[eE][+-]?\d+)?)
  | (?P<int>\d+)u?
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%!<>?:().,\[\]{}])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: Any


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise UnsupportedRule(f"cannot tokenize at {text[pos:]!r}")
        pos = m.end()
        kind = m.lastgroup
        raw = m.group(kind or "")
        if kind == "ws":
            continue
        if kind == "float":
            tokens.append(_Tok("lit", float(raw)))
        elif kind == "int":
            tokens.append(_Tok("lit", int(raw.rstrip("u"))))
        elif kind == "str":
            body = raw[1:-1]
            tokens.append(_Tok("lit", body.encode("utf-8").decode("unicode_escape")
                               if "\\" in body else body))
        elif kind == "ident":
            if raw in ("true", "false"):
                tokens.append(_Tok("lit", raw == "true"))
            elif raw == "null":
                tokens.append(_Tok("lit", None))
            elif raw == "in":
                tokens.append(_Tok("op", "in"))
            else:
                tokens.append(_Tok("ident", raw))
        else:
            tokens.append(_Tok("op", raw))
    tokens.append(_Tok("eof", None))
    return tokens


# The AST is made of tuples: (node_kind, *args).
Node = tuple[Any, ...]
_MACROS = {"all", "exists", "exists_one"}
_METHODS = {"size", "startsWith", "endsWith", "contains", "matches"}
_FUNCTIONS = {"size", "int", "string", "double"}


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> _Tok:
        return self.tokens[self.pos]

    def next(self) -> _Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def accept(self, op: str) -> bool:
        tok = self.peek()
        if tok.kind == "op" and tok.value == op:
            self.pos += 1
            return True
        return False

    def expect(self, op: str) -> None:
        if not self.accept(op):
            raise UnsupportedRule(f"expected {op!r}, got {self.peek().value!r}")

    def parse(self) -> Node:
        node = self.ternary()
        if self.peek().kind != "eof":
            raise UnsupportedRule(f"unexpected trailing token {self.peek().value!r}")
        return node

    def ternary(self) -> Node:
        cond = self.or_()
        if self.accept("?"):
            a = self.ternary()
            self.expect(":")
            b = self.ternary()
            return ("if", cond, a, b)
        return cond

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("||"):
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.rel()
        while self.accept("&&"):
            node = ("and", node, self.rel())
        return node

    def rel(self) -> Node:
        node = self.add()
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("==", "!=", "<", "<=", ">", ">=", "in"):
                self.pos += 1
                node = ("bin", tok.value, node, self.add())
            else:
                return node

    def add(self) -> Node:
        node = self.mul()
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("+", "-"):
                self.pos += 1
                node = ("bin", tok.value, node, self.mul())
            else:
                return node

    def mul(self) -> Node:
        node = self.unary()
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value in ("*", "/", "%"):
                self.pos += 1
                node = ("bin", tok.value, node, self.unary())
            else:
                return node

    def unary(self) -> Node:
        if self.accept("!"):
            return ("not", self.unary())
        if self.accept("-"):
            return ("neg", self.unary())
        return self.member()

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.accept("."):
                tok = self.next()
                if tok.kind != "ident":
                    raise UnsupportedRule(f"expected a field name, got {tok.value!r}")
                if self.accept("("):
                    name = tok.value
                    if name in _MACROS:
                        var = self.next()
                        if var.kind != "ident":
                            raise UnsupportedRule("macro variable expected")
                        self.expect(",")
                        body = self.ternary()
                        self.expect(")")
                        node = ("macro", name, node, var.value, body)
                    elif name in _METHODS:
                        args = self.args()
                        node = ("method", name, node, args)
                    else:
                        raise UnsupportedRule(f"unsupported method {name}()")
                else:
                    node = ("field", node, tok.value)
            elif self.accept("["):
                index = self.ternary()
                self.expect("]")
                node = ("index", node, index)
            else:
                return node

    def args(self) -> list[Node]:
        args: list[Node] = []
        if self.accept(")"):
            return args
        while True:
            args.append(self.ternary())
            if self.accept(")"):
                return args
            self.expect(",")

    def primary(self) -> Node:
        tok = self.next()
        if tok.kind == "lit":
            return ("lit", tok.value)
        if tok.kind == "op" and tok.value == "(":
            node = self.ternary()
            self.expect(")")
            return node
        if tok.kind == "op" and tok.value == "[":
            items: list[Node] = []
            if not self.accept("]"):
                while True:
                    items.append(self.ternary())
                    if self.accept("]"):
                        break
                    self.expect(",")
            return ("list", items)
        if tok.kind == "ident":
            if self.accept("("):
                if tok.value == "has":
                    arg = self.ternary()
                    self.expect(")")
                    if arg[0] != "field":
                        raise UnsupportedRule("has() needs a field selection")
                    return ("has", arg)
                if tok.value in _FUNCTIONS:
                    return ("call", tok.value, self.args())
                raise UnsupportedRule(f"unsupported function {tok.value}()")
            return ("var", tok.value)
        raise UnsupportedRule(f"unexpected token {tok.value!r}")


def _uses_var(node: Any, name: str) -> bool:
    if isinstance(node, tuple):
        if node and node[0] == "var" and node[1] == name:
            return True
        return any(_uses_var(child, name) for child in node[1:])
    if isinstance(node, list):
        return any(_uses_var(child, name) for child in node)
    return False


def _type_name(value: Any) -> str:
    if value is None:
        return "null_type"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "map"
    return type(value).__name__


def _eq(a: Any, b: Any) -> bool:
    # CEL has no bool/int coercion; heterogeneous numbers compare by value.
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_eq(a[k], b[k]) for k in a)
    return bool(a == b)


def _size(value: Any) -> int:
    if isinstance(value, (str, list, Mapping, bytes)):
        return len(value)
    raise RuleError(f"no such overload: size({_type_name(value)})")


def _evaluate(node: Node, env: Mapping[str, Any]) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "var":
        if node[1] not in env:
            raise RuleError(f"undeclared reference to '{node[1]}'")
        return env[node[1]]
    if kind == "list":
        return [_evaluate(item, env) for item in node[1]]
    if kind == "field":
        base = _evaluate(node[1], env)
        if not isinstance(base, Mapping):
            raise RuleError(f"no such key: {node[2]}")
        if node[2] not in base:
            raise RuleError(f"no such key: {node[2]}")
        return base[node[2]]
    if kind == "index":
        base = _evaluate(node[1], env)
        index = _evaluate(node[2], env)
        try:
            return base[index]
        except (KeyError, IndexError, TypeError):
            raise RuleError(f"no such key: {index}") from None
    if kind == "has":
        base = _evaluate(node[1][1], env)
        return isinstance(base, Mapping) and node[1][2] in base
    if kind == "not":
        value = _evaluate(node[1], env)
        if not isinstance(value, bool):
            raise RuleError(f"no such overload: !{_type_name(value)}")
        return not value
    if kind == "neg":
        value = _evaluate(node[1], env)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RuleError(f"no such overload: -{_type_name(value)}")
        return -value
    if kind == "and":
        left = _evaluate(node[1], env)
        if left is False:
            return False
        return _evaluate(node[2], env) is True and left is True
    if kind == "or":
        left = _evaluate(node[1], env)
        if left is True:
            return True
        return _evaluate(node[2], env) is True
    if kind == "if":
        return _evaluate(node[2] if _evaluate(node[1], env) is True else node[3], env)
    if kind == "bin":
        return _binary(node[1], _evaluate(node[2], env), _evaluate(node[3], env))
    if kind == "call":
        args = [_evaluate(arg, env) for arg in node[2]]
        return _call(node[1], args)
    if kind == "method":
        target = _evaluate(node[2], env)
        args = [_evaluate(arg, env) for arg in node[3]]
        return _method(node[1], target, args)
    if kind == "macro":
        target = _evaluate(node[2], env)
        items = list(target.keys()) if isinstance(target, Mapping) else target
        if not isinstance(items, list):
            raise RuleError(f"no such overload: {node[1]}({_type_name(target)})")
        results = [_evaluate(node[4], {**env, node[3]: item}) is True for item in items]
        if node[1] == "all":
            return all(results)
        if node[1] == "exists":
            return any(results)
        return sum(results) == 1
    raise UnsupportedRule(f"unknown node {kind}")  # pragma: no cover


def _binary(op: str, a: Any, b: Any) -> Any:
    if op == "==":
        return _eq(a, b)
    if op == "!=":
        return not _eq(a, b)
    if op == "in":
        if isinstance(b, list):
            return any(_eq(a, item) for item in b)
        if isinstance(b, Mapping):
            return a in b
        raise RuleError(f"no such overload: {_type_name(a)} in {_type_name(b)}")
    numeric = (isinstance(a, (int, float)) and isinstance(b, (int, float))
               and not isinstance(a, bool) and not isinstance(b, bool))
    same = type(a) is type(b) and isinstance(a, (str, bool, list))
    if op in ("<", "<=", ">", ">="):
        if not (numeric or (same and not isinstance(a, list))):
            raise RuleError(f"no such overload: {_type_name(a)} {op} {_type_name(b)}")
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if op == "+" and (numeric or same):
        return a + b
    if numeric:
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op in ("/", "%"):
            if b == 0:
                raise RuleError("division by zero")
            if isinstance(a, int) and isinstance(b, int):
                quotient = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)
                return quotient if op == "/" else a - b * quotient
            return a / b if op == "/" else a % b
    raise RuleError(f"no such overload: {_type_name(a)} {op} {_type_name(b)}")


def _call(name: str, args: list[Any]) -> Any:
    if len(args) != 1:
        raise RuleError(f"no such overload: {name} with {len(args)} arguments")
    value = args[0]
    if name == "size":
        return _size(value)
    try:
        if name == "int":
            return int(value)
        if name == "double":
            return float(value)
    except (TypeError, ValueError):
        raise RuleError(f"cannot convert {value!r} to {name}") from None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_STRING_METHODS: dict[str, Callable[[str, str], bool]] = {
    "startsWith": str.startswith,
    "endsWith": str.endswith,
    "contains": lambda s, sub: sub in s,
    "matches": lambda s, pattern: patterns.search(pattern, s),  # RE2: \p{L} and the like too
}


def _method(name: str, target: Any, args: list[Any]) -> Any:
    if name == "size" and not args:
        return _size(target)
    fn = _STRING_METHODS.get(name)
    if fn is not None and isinstance(target, str) and len(args) == 1 and isinstance(args[0], str):
        return fn(target, args[0])
    raise RuleError(f"no such overload: {_type_name(target)}.{name}()")


@dataclass(frozen=True)
class CompiledRule:
    """A parsed rule; ``is_transition`` tells whether it refers to ``oldSelf``."""

    text: str
    ast: Node
    is_transition: bool

    def evaluate(self, value: Any, old_value: Any = None) -> bool:
        env: dict[str, Any] = {"self": value}
        if self.is_transition:
            env["oldSelf"] = old_value
        result = _evaluate(self.ast, env)
        if not isinstance(result, bool):
            raise RuleError(f"rule did not evaluate to a bool: {result!r}")
        return result


_CACHE: dict[str, CompiledRule] = {}


def compile_rule(text: str) -> CompiledRule:
    """Parse a rule (cached). Raises :class:`UnsupportedRule` for syntax beyond the subset."""
    cached = _CACHE.get(text)
    if cached is None:
        ast = _Parser(text).parse()
        cached = CompiledRule(text=text, ast=ast, is_transition=_uses_var(ast, "oldSelf"))
        _CACHE[text] = cached
    return cached
