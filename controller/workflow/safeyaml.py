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
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

__all__ = [
    "ALIAS_RATIO_RANGE_HIGH",
    "ALIAS_RATIO_RANGE_LOW",
    "ExcessiveAliasing",
    "allowed_alias_ratio",
    "check_aliases",
    "documents",
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


def documents(text: str) -> Iterator[tuple[yaml.Node, Any, ExcessiveAliasing | None]]:
    """Each non-empty-stream document as ``(node, data, None)``, or ``(node, None, why)`` when its aliases are
    refused (the next documents are still read: anchors do not cross documents).

    Raises ``yaml.YAMLError`` where the YAML does not parse, nesting too deep to read included (Python's
    recursion limit, a few hundred levels, becomes a ``MarkedYAMLError`` at the place it was reached).
    """
    loader = yaml.SafeLoader(text)
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
