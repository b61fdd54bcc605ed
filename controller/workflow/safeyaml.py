"""YAML from files nobody vetted: refuse alias bombs ("billion laughs") and recursive anchors before building data.

PyYAML composes a document into a node graph in time linear in the text: an alias (``*name``) is the very
node of its anchor, so a "billion laughs" document is a small graph.  What explodes is everything that walks
the data afterwards as a tree (schema admission, JSON, the checks), as every alias is walked in full.  So the
graph is measured before anything is built from it, the way go-yaml (and so ``sigs.k8s.io/yaml``, kubectl and
the API server) decides: it counts every node it decodes, and those decoded inside an alias expansion, and
stops with "document contains excessive aliasing" once more than 100 alias-driven nodes make up more than
the allowed share of more than 1,000 decoded nodes (99% up to 400,000 decoded nodes, falling to 10% at
4,000,000; see ``allowedAliasRatio`` in go-yaml's decode.go).  The counts are computed here from the graph,
each node's expanded size once, so refusing a bomb takes time linear in its text.

An anchor that contains an alias of itself (``&a [*a]``) makes a recursive structure; go-yaml refuses it
("anchor 'a' value contains itself") and so is it refused here.

Scalars get the types kubectl gives them (:class:`GoLoader`), not PyYAML's YAML 1.1 ones: kubectl, ArgoCD and
the API server read YAML with ``sigs.k8s.io/yaml``, which decodes with its fork of go-yaml v2 (``resolve`` in
resolve.go) into ``interface{}`` and then converts the result to JSON, which the API server reads.  So
``049474891394`` and ``0800`` are numbers (not valid octal, then a float, printed as an integer), ``1e3`` is
the number 1000, ``017`` is 15, ``0x1F`` 31, ``0o17`` 15, ``0b101`` 5, ``1_000`` 1000; ``yes``, ``on``, ``y``
and their capitalised forms are booleans; ``2024-01-01`` and ``12:30`` stay strings; ``~``, ``null`` and
nothing are null; ``.inf`` and ``.nan`` make the whole file unreadable (JSON has no infinity); mapping keys
become JSON strings as sigs.k8s.io/yaml writes them (``yes: x`` has the key ``"true"``).  A float whose JSON
form is an integer (Go prints 1000.0 as ``1000``) is the integer, as the API server decodes it.
"""

from __future__ import annotations

import decimal
import math
import re
import struct
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.constructor import ConstructorError

__all__ = [
    "ALIAS_RATIO_RANGE_HIGH",
    "ALIAS_RATIO_RANGE_LOW",
    "ExcessiveAliasing",
    "GoDumper",
    "GoLoader",
    "allowed_alias_ratio",
    "check_aliases",
    "documents",
    "dump_all",
    "go_scalar",
    "go_tag",
    "safe_load_all",
]

# go-yaml's bounds: 400,000 decoded nodes is ~500 kB of dense YAML, or ~5 kB with 10,000% alias expansion;
# 4,000,000 is ~5 MB of dense YAML.
ALIAS_RATIO_RANGE_LOW = 400_000
ALIAS_RATIO_RANGE_HIGH = 4_000_000
_MIN_ALIASED = 100  # go-yaml checks the ratio only past 100 alias-driven nodes ...
_MIN_DECODED = 1_000  # ... and 1,000 decoded nodes


class ExcessiveAliasing(yaml.YAMLError):
    """A document whose aliases expand too far, or into themselves.  ``mark``: where it was noticed."""

    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def allowed_alias_ratio(decoded: int) -> float:
    """The share of decoded nodes that may come from alias expansion (go-yaml's ``allowedAliasRatio``)."""
    if decoded <= ALIAS_RATIO_RANGE_LOW:
        return 0.99
    if decoded >= ALIAS_RATIO_RANGE_HIGH:
        return 0.10
    span = ALIAS_RATIO_RANGE_HIGH - ALIAS_RATIO_RANGE_LOW
    return 0.99 - 0.89 * (decoded - ALIAS_RATIO_RANGE_LOW) / span


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return []


def _excessive(decoded: int, aliased: int) -> bool:
    return (aliased > _MIN_ALIASED and decoded > _MIN_DECODED
            and aliased / decoded > allowed_alias_ratio(decoded))


def check_aliases(root: yaml.Node) -> None:
    """Raise :class:`ExcessiveAliasing` when decoding ``root`` would expand aliases as go-yaml refuses.

    The walk is in document order, so an anchor's first occurrence is its definition and every later
    occurrence of the same node is an alias: the definition counts its nodes once, each alias counts the
    node itself plus its whole expanded size (known from the definition) as alias-driven.  Checking after
    each step is go-yaml's check after each node: within an alias expansion both counts grow together, so
    the ratio is highest where the expansion ends.
    """
    expanded: dict[int, int] = {}  # id(node) -> nodes when fully expanded, once its definition is done
    on_path: set[int] = set()
    decoded = aliased = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            expanded[key] = 1 + sum(expanded[id(child)] for child in _children(node))
            continue
        if key in on_path:
            raise ExcessiveAliasing("an anchor (&name) contains an alias (*name) of itself: a recursive structure",
                                    node.start_mark)
        if key in expanded:  # an alias: go-yaml decodes the alias node, then its target all over again
            decoded += 1 + expanded[key]
            aliased += expanded[key]
            if _excessive(decoded, aliased):
                raise ExcessiveAliasing(
                    f"excessive aliasing: its aliases (*name) expand to at least {aliased:,} of the {decoded:,} "
                    "nodes decoded so far (a \"billion laughs\" document)", node.start_mark)
            continue
        decoded += 1
        if _excessive(decoded, aliased):
            raise ExcessiveAliasing(f"excessive aliasing: {aliased:,} of {decoded:,} nodes come from aliases",
                                    node.start_mark)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))


# ------------------------------------------------------------------------------ scalars as go-yaml v2 reads them

_STR, _NULL, _BOOL, _INT, _FLOAT = (f"tag:yaml.org,2002:{t}" for t in ("str", "null", "bool", "int", "float"))
_TIMESTAMP, _BINARY, _MERGE = "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary", "tag:yaml.org,2002:merge"
# go-yaml v2's resolveMap (resolve.go): YAML 1.1's booleans, its nulls, infinities and NaN, and the merge key.
_MAP: dict[str, tuple[str, Any]] = {
    **{w: (_BOOL, True) for w in ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")},
    **{w: (_BOOL, False) for w in ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")},
    **{w: (_NULL, None) for w in ("", "~", "null", "Null", "NULL")},
    **{w: (_FLOAT, math.nan) for w in (".nan", ".NaN", ".NAN")},
    **{w: (_FLOAT, math.inf) for w in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{w: (_FLOAT, -math.inf) for w in ("-.inf", "-.Inf", "-.INF")},
    "<<": (_MERGE, "<<"),
}
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")  # go-yaml's yamlStyleFloat
_TIMESTAMP_START = re.compile(r"^[0-9]{4}-")  # go-yaml's parseTimestamp quick check (such a text is never a number)
_INT64 = (-(2**63), 2**63 - 1)
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def _go_parse_int(text: str, unsigned: bool) -> int | None:
    """Go's ``strconv.ParseInt(text, 0, 64)`` (``ParseUint`` when ``unsigned``): a sign (signed only), then
    0x/0o/0b or a leading 0 (octal) or decimal digits; None where Go answers an error (syntax or range)."""
    body, negative = text, False
    if not unsigned and body[:1] in ("+", "-"):
        negative, body = body[0] == "-", body[1:]
    base = 10
    if len(body) >= 2 and body[0] == "0" and body[1] in "xXoObB":
        base, body = {"x": 16, "o": 8, "b": 2}[body[1].lower()], body[2:]
    elif len(body) >= 2 and body[0] == "0":
        base, body = 8, body[1:]
    if not body or any(c not in _DIGITS[base] for c in body):
        return None
    value = -int(body, base) if negative else int(body, base)
    low, high = (0, 2**64 - 1) if unsigned else _INT64
    return value if low <= value <= high else None


def _json_number(value: float) -> int | float:
    """The number the API server reads from Go's JSON of a float64: ``1000.0`` is written ``1000`` (an integer to
    every reader after it); Go writes exponent form (a float) from 1e21 on."""
    if value.is_integer() and abs(value) < 1e21:
        return int(decimal.Decimal(repr(value)))  # Go's shortest digits: 1.8446744073709552e19 -> ...552000
    return value


def go_scalar(text: str, tag: str | None = None) -> tuple[str, Any]:
    """``(tag, value)`` of a plain scalar as go-yaml v2's ``resolve`` gives it, decoded into ``interface{}`` and
    passed through JSON as sigs.k8s.io/yaml does (timestamps stay strings, floats print as JSON numbers).

    ``tag``: an explicit tag (``!!int``), or None; a value that does not resolve to it is refused as go-yaml
    refuses it (``cannot decode !!str `abc` as a !!int``), except that an integer is a ``!!float``.
    """
    rtag, value = _go_value(text, tag)
    if isinstance(value, int) and not isinstance(value, bool) and not _INT64[0] <= value <= _INT64[1]:
        value = float(value)  # a uint64 past int64: the API server's JSON decoding reads it as a float64
    return rtag, _json_number(value) if isinstance(value, float) and math.isfinite(value) else value


def go_tag(text: str) -> str:
    """The tag go-yaml v2 gives ``text`` as a plain scalar (``tag:yaml.org,2002:str`` when it stays a string)."""
    return _go_resolve(text, None)[0]


def _go_value(text: str, tag: str | None) -> tuple[str, Any]:
    """go-yaml's own value (a float stays a float: a mapping key is printed from it), checked against ``tag``."""
    rtag, value = _go_resolve(text, tag)
    if tag is None or tag in (rtag, _STR, _BINARY):
        return rtag, value
    if tag == _FLOAT and rtag == _INT:
        return _FLOAT, float(value)
    short = {t: "!!" + t.rsplit(":", 1)[1] for t in (_STR, _NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP, _MERGE)}
    raise ValueError(f"cannot decode {short.get(rtag, rtag)} `{text}` as a {short.get(tag, tag)}")


def _go_resolve(text: str, tag: str | None) -> tuple[str, Any]:
    if tag in (_STR, _BINARY):
        return _STR, text
    if text in _MAP:
        return _MAP[text]
    first = text[:1]
    if first == ".":
        try:  # Go's ParseFloat: ".5", ".5e3"
            value = float(text) if re.fullmatch(r"\.[0-9]+([eE][-+]?[0-9]+)?", text) else None
        except ValueError:
            value = None
        if value is not None and not math.isinf(value):
            return _FLOAT, value
    elif first.isdigit() or first in ("+", "-"):
        if _TIMESTAMP_START.match(text):
            return _TIMESTAMP, text  # decoded into interface{} a timestamp is its text ("for backward compatibility")
        plain = text.replace("_", "")
        for unsigned in (False, True):
            number = _go_parse_int(plain, unsigned)
            if number is not None:
                return _INT, number
        if _YAML_STYLE_FLOAT.match(plain):
            value = float(plain)
            if not math.isinf(value):  # Go's ParseFloat answers a range error: the text stays a string
                return _FLOAT, value
    return _STR, text


def _float32_g(value: float) -> str:
    """Go's ``strconv.FormatFloat(value, 'g', -1, 32)``: the fewest digits that read back as the same float32,
    in exponent form (``1e+06``) when the exponent is below -4 or 6 and more (Go's rule for the shortest form)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    single = struct.unpack("f", struct.pack("f", value))[0]
    if single == 0:
        return "-0" if math.copysign(1, single) < 0 else "0"
    shown = ""
    for precision in range(9):
        shown = f"{abs(single):.{precision}e}"
        if struct.unpack("f", struct.pack("f", float(shown)))[0] == abs(single):
            break
    mantissa, exponent = shown.split("e")
    digits, exp = mantissa.replace(".", "").rstrip("0") or "0", int(exponent)
    sign = "-" if single < 0 else ""
    if exp < -4 or exp >= 6:
        rest = f".{digits[1:]}" if digits[1:] else ""
        return f"{sign}{digits[0]}{rest}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    whole = digits.ljust(exp + 1, "0")
    fraction = whole[exp + 1:]
    return f"{sign}{whole[:exp + 1]}{'.' + fraction if fraction else ''}"


def _json_key(key: Any, node: yaml.Node) -> str:
    """A mapping key as sigs.k8s.io/yaml's JSON has it (``convertToJSONableObject``)."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        shown = _float32_g(key)
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(shown, shown)
    what = "null" if key is None else "a list or mapping"
    raise ConstructorError(None, None, f"a mapping key is {what}: kubectl refuses it (unsupported map key); allowed: "
                           "a string, number or boolean as key", node.start_mark)


class GoLoader(yaml.SafeLoader):
    """PyYAML's safe loader with go-yaml v2's scalar rules and sigs.k8s.io/yaml's JSON conversion (see the module
    docstring): what it builds is the JSON kubectl sends to the API server."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _go_resolve(value, None)[0]
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        return tag

    def construct_go_scalar(self, node: yaml.Node) -> Any:
        assert isinstance(node, yaml.ScalarNode)
        if node.tag in (_STR, "!"):
            return node.value  # quoted, block or !!str: a string
        try:
            tag, value = go_scalar(node.value, node.tag)  # a plain scalar's tag is its resolved one
        except ValueError as exc:
            raise ConstructorError(None, None, f"{exc} (kubectl refuses it too)", node.start_mark) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ConstructorError(None, None, f"{node.value!r} is {'NaN' if math.isnan(value) else 'infinite'}: "
                                   "kubectl cannot convert it to JSON (json: unsupported value) and refuses the "
                                   "whole file; allowed: a finite number, or quote it to make it a string",
                                   node.start_mark)
        return "<<" if tag == _MERGE else value

    def construct_go_mapping(self, node: yaml.Node) -> dict[str, Any]:
        assert isinstance(node, yaml.MappingNode)
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag not in (_STR, "!"):
                try:  # a float key is printed from go-yaml's float (1e6: "1e+06"), not from its JSON number
                    key = _go_value(key_node.value, key_node.tag)[1]
                except ValueError as exc:
                    raise ConstructorError(None, None, f"{exc} (kubectl refuses it too)",
                                           key_node.start_mark) from None
            else:
                key = self.construct_object(key_node, deep=True)
            mapping[_json_key(key, key_node)] = self.construct_object(value_node, deep=True)
        return mapping

    def construct_go_unknown(self, tag_suffix: str, node: yaml.Node) -> Any:
        """A tag go-yaml does not know (``!foo``): ignored, the node read by its kind."""
        if isinstance(node, yaml.MappingNode):
            return self.construct_go_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.construct_object(child, deep=True) for child in node.value]
        return node.value


GoLoader.yaml_constructors = {
    **{tag: GoLoader.construct_go_scalar for tag in (_STR, _NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP, _MERGE)},
    _BINARY: GoLoader.construct_go_scalar,
    "tag:yaml.org,2002:map": GoLoader.construct_go_mapping,
    "tag:yaml.org,2002:seq": yaml.SafeLoader.construct_yaml_seq,
}
GoLoader.yaml_multi_constructors = {"": GoLoader.construct_go_unknown}


class GoDumper(yaml.SafeDumper):
    """PyYAML's safe dumper that quotes every string kubectl (go-yaml v2: ``049474891394`` is a number, ``yes`` and
    ``y`` booleans) or YAML 1.1 (PyYAML: ``12:30`` a number) would read as anything but that string."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        tag: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if kind is yaml.ScalarNode and implicit[0] and tag == _STR:
            return go_tag(value)
        return tag


def dump_all(documents: Any, **options: Any) -> str:
    """``yaml.safe_dump_all`` whose output kubectl reads back as the same data (:class:`GoDumper`)."""
    text: str = yaml.dump_all(documents, Dumper=GoDumper, allow_unicode=True, **options)
    return text


def documents(text: str) -> Iterator[tuple[yaml.Node, Any, ExcessiveAliasing | None]]:
    """Each non-empty-stream document as ``(node, data, None)``, or ``(node, None, why)`` when its aliases are
    refused (the next documents are still read: anchors do not cross documents).

    Raises ``yaml.YAMLError`` where the YAML does not parse, nesting too deep to read included (Python's
    recursion limit, a few hundred levels, becomes a ``MarkedYAMLError`` at the place it was reached).
    """
    loader = GoLoader(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
                if node is None:
                    continue
                try:
                    check_aliases(node)
                except ExcessiveAliasing as exc:
                    refused: ExcessiveAliasing | None = exc
                else:
                    refused = None
                data = None if refused is not None else loader.construct_document(node)
            except RecursionError:
                raise yaml.MarkedYAMLError(problem="the YAML is nested too deeply to read (hundreds of levels of "
                                           "lists or mappings)", problem_mark=loader.get_mark()) from None
            yield node, data, refused
    finally:
        loader.dispose()


def safe_load_all(text: str) -> Iterator[Any]:
    """``yaml.safe_load_all`` that refuses alias bombs and recursive anchors (:class:`ExcessiveAliasing`)."""
    for _node, data, refused in documents(text):
        if refused is not None:
            raise refused
        yield data
