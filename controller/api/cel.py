"""CRD ``x-kubernetes-validations`` rules, compiled and evaluated by cel-python (``celpy``, pinned in
requirements.txt), a maintained implementation of the Common Expression Language.

This module is only the seam the API server's rules need around the library, shared by ``awsorg validate``
(:mod:`controller.api.schema`) and the sandbox's API server (:mod:`controller.sandbox.crd_admission`):

* the Kubernetes environment: ``self`` (and ``oldSelf`` in a transition rule) bound to the JSON value, as
  ``apiextensions-apiserver`` binds them;
* a compile step that refuses, as the API server's compiler does, a function that neither CEL's standard
  library (as cel-python has it) nor the Kubernetes libraries define, and a function of the Kubernetes
  libraries that cel-python lacks (:data:`K8S_ONLY_FUNCTIONS`): such a rule raises :class:`UnsupportedRule`
  instead of failing each evaluation (celpy resolves functions only when it evaluates).  None of the CRDs'
  rules uses one today (``tests/test_cel_rules.py`` runs each of them); a rule that starts to must bring
  that function here, tested, first;
* :attr:`CompiledRule.ast`, the parse tree in the small tuple form the sandbox's schema-driven type check
  walks (declared fields, the result type).

Evaluation errors (a missing key, no such overload) raise :class:`RuleError`, which the API server reports as
a validation failure, as the real one does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # celpy (and lark) take ~2 s to import and build their parser: only when a rule is compiled
    import celpy
    import lark

__all__ = ["K8S_ONLY_FUNCTIONS", "CompiledRule", "Node", "RuleError", "UnsupportedRule", "compile_rule"]


class UnsupportedRule(Exception):
    """The rule does not compile: a syntax error, or a function no CEL library here defines."""


class RuleError(Exception):
    """The rule could not be evaluated on this value (e.g. ``no such key: x``)."""


#: CEL's macros (the parser's, in cel-go): ``has()`` and the comprehensions.
MACROS = frozenset({"has", "all", "exists", "exists_one", "map", "filter"})

#: Functions of the Kubernetes CEL libraries (k8s.io/apiserver/pkg/cel/library and the cel-go extensions the
#: API server enables: strings, lists, regex, URLs, IPs and CIDRs, quantities, semver, format) that
#: cel-python 0.5 does not have.  A rule calling one is refused at compile time (see the module docstring).
K8S_ONLY_FUNCTIONS = frozenset({
    # ext.Strings (cel-go), version 2 as the API server enables it
    "charAt", "indexOf", "lastIndexOf", "lowerAscii", "upperAscii", "replace", "split", "substring", "trim",
    "join", "reverse", "quote", "format",
    # library.Lists
    "isSorted", "sum", "min", "max",
    # library.Regex
    "find", "findAll",
    # library.URLs, IPs, CIDRs, Quantity, SemVer, Authz, Sets
    "url", "isURL", "getScheme", "getHost", "getHostname", "getPort", "getEscapedPath", "getQuery",
    "ip", "isIP", "cidr", "isCIDR", "family", "isUnspecified", "isLoopback", "isLinkLocalMulticast",
    "isLinkLocalUnicast", "isGlobalUnicast", "containsIP", "containsCIDR", "masked", "prefixLength",
    "quantity", "isQuantity", "isInteger", "asInteger", "asApproximateFloat", "sign", "add", "sub",
    "isGreaterThan", "isLessThan", "compareTo", "semver", "isSemver", "major", "minor", "patch",
})


# The parse tree as the sandbox's type check reads it: tuples (node_kind, *args), kinds "lit", "var", "field",
# "index", "has", "macro", "not", "neg", "and", "or", "bin", "if", "list", "call", "method", and "dyn" for a
# construct the type check does not look into (a map literal, map()/filter()).
Node = tuple[Any, ...]


@functools.cache
def _environment() -> celpy.Environment:
    import sys

    import celpy

    limit = sys.getrecursionlimit()
    try:
        return celpy.Environment()
    finally:  # celpy raises the interpreter's recursion limit to 2,500 for all the process: not ours to change
        sys.setrecursionlimit(limit)


@functools.cache
def _library_functions() -> frozenset[str]:
    import celpy.evaluation

    return frozenset(celpy.evaluation.base_functions)


_RELATIONS = {"relation_lt": "<", "relation_le": "<=", "relation_gt": ">", "relation_ge": ">=",
              "relation_eq": "==", "relation_ne": "!=", "relation_in": "in"}
_ARITHMETIC = {"addition_add": "+", "addition_sub": "-", "multiplication_mul": "*", "multiplication_div": "/",
               "multiplication_mod": "%"}


def _children(tree: lark.Tree[Any]) -> list[Any]:
    return [c for c in tree.children if c is not None]


def _literal(token: Any) -> Any:
    """A value of the literal's type (the type check needs its type only)."""
    kind = getattr(token, "type", "")
    if kind == "BOOL_LIT":
        return str(token) == "true"
    return {"INT_LIT": 0, "UINT_LIT": 0, "FLOAT_LIT": 0.0, "STRING_LIT": "", "MLSTRING_LIT": "",
            "BYTES_LIT": b"", "NULL_LIT": None}.get(kind)


def _function(name: str) -> None:
    if name in K8S_ONLY_FUNCTIONS:
        raise UnsupportedRule(f"undeclared reference to '{name}' (a Kubernetes CEL library function that "
                              "cel-python lacks: provide it in controller/api/cel.py first)")
    if name not in MACROS and name not in _library_functions():
        raise UnsupportedRule(f"undeclared reference to '{name}' (in container '')")


def _node(tree: Any) -> Node:  # one case per grammar rule of celpy's cel.lark
    import lark

    if not isinstance(tree, lark.Tree):
        raise UnsupportedRule(f"unexpected token {tree!r}")
    kind, children = str(tree.data), _children(tree)
    if kind == "expr":
        if len(children) == 3:
            return ("if", _node(children[0]), _node(children[1]), _node(children[2]))
        return _node(children[0])
    if kind in ("conditionalor", "conditionaland"):
        if len(children) == 2:
            return ("or" if kind == "conditionalor" else "and", _node(children[0]), _node(children[1]))
        return _node(children[0])
    if kind in ("relation", "addition", "multiplication"):
        if len(children) == 2:
            op_tree = children[0]
            op = _RELATIONS.get(str(op_tree.data)) or _ARITHMETIC[str(op_tree.data)]
            return ("bin", op, _node(_children(op_tree)[0]), _node(children[1]))
        return _node(children[0])
    if kind == "unary":
        if len(children) == 2:
            return ("not" if str(children[0].data) == "unary_not" else "neg", _node(children[1]))
        return _node(children[0])
    if kind in ("member", "primary", "paren_expr"):
        return _node(children[0])
    if kind == "member_dot":
        return ("field", _node(children[0]), str(children[1]))
    if kind == "member_index":
        return ("index", _node(children[0]), _node(children[1]))
    if kind == "member_dot_arg":
        target, name = children[0], str(children[1])
        args = _children(children[2]) if len(children) > 2 else []
        _function(name)
        if name in ("all", "exists", "exists_one") and len(args) == 2:
            var = _node(args[0])
            if var[0] != "var":
                raise UnsupportedRule(f"argument is not an identifier: {name}()")
            return ("macro", name, _node(target), var[1], _node(args[1]))
        if name in ("map", "filter"):
            return ("dyn", _node(target), *(_node(a) for a in args[1:]))
        return ("method", name, _node(target), [_node(a) for a in args])
    if kind == "ident_arg":
        name = str(children[0])
        args = _children(children[1]) if len(children) > 1 else []
        _function(name)
        if name == "has":
            arg = _node(args[0]) if len(args) == 1 else None
            if arg is None or arg[0] != "field":
                raise UnsupportedRule("invalid argument to has() macro")
            return ("has", arg)
        return ("call", name, [_node(a) for a in args])
    if kind == "ident":
        return ("var", str(children[0]))
    if kind == "literal":
        return ("lit", _literal(children[0]))
    if kind == "list_lit":
        return ("list", [_node(a) for a in _children(children[0])] if children else [])
    if kind == "map_lit":
        return ("dyn",)
    raise UnsupportedRule(f"unsupported syntax: {kind}")


def _uses_var(node: Any, name: str) -> bool:
    if isinstance(node, tuple):
        if node and node[0] == "var" and node[1] == name:
            return True
        return any(_uses_var(child, name) for child in node[1:])
    if isinstance(node, list):
        return any(_uses_var(child, name) for child in node)
    return False


def _message(error: Any) -> str:
    """celpy's error as the API server words it where the two differ (``no such key: x``)."""
    args = getattr(error, "args", ())
    text = str(args[0]) if args else str(error)
    prefix = "no such member in mapping: "
    if text.startswith(prefix):
        return "no such key: " + text.removeprefix(prefix).strip("'")
    return text


@dataclass(frozen=True)
class CompiledRule:
    """A compiled rule; ``is_transition`` tells whether it refers to ``oldSelf``."""

    text: str
    ast: Node
    is_transition: bool
    program: Any  # celpy.Runner

    def evaluate(self, value: Any, old_value: Any = None) -> bool:
        from celpy import adapter, celtypes, evaluation

        try:
            activation: dict[str, Any] = {"self": adapter.json_to_cel(value)}
            if self.is_transition:
                activation["oldSelf"] = adapter.json_to_cel(old_value)
        except ValueError as e:
            raise RuleError(f"cannot bind the value to CEL: {e}") from None
        try:
            result = self.program.evaluate(activation)
        except evaluation.CELEvalError as e:
            raise RuleError(_message(e)) from None
        if isinstance(result, evaluation.CELEvalError):
            raise RuleError(_message(result))
        if not isinstance(result, celtypes.BoolType):
            raise RuleError(f"rule did not evaluate to a bool: {result!r}")
        return bool(result)


@functools.lru_cache(maxsize=1024)
def compile_rule(text: str) -> CompiledRule:
    """Compile a rule (cached). Raises :class:`UnsupportedRule` when it does not compile."""
    from celpy import celparser

    env = _environment()
    try:
        tree = env.compile(text)
    except celparser.CELParseError as e:
        raise UnsupportedRule(f"Syntax error: {e.args[0] if e.args else e}") from None
    ast = _node(tree)
    return CompiledRule(text=text, ast=ast, is_transition=_uses_var(ast, "oldSelf"), program=env.program(tree))
