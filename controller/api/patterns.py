"""RE2 patterns (the API server's, AWS's) in Python's ``re``: the Unicode classes ``\\p{L}``, ``\\p{Z}``, ``\\p{N}``.

Go's regexp (the API server's ``pattern`` and CEL ``matches()``) and AWS's models accept ``\\p{L}`` (any letter),
``\\p{Z}`` (any separator) and ``\\p{N}`` (any number); Python's ``re`` refuses them ("bad escape \\p").  This
module replaces each by the explicit ranges of that Unicode general category (from :mod:`unicodedata`), so
a pattern such as AWS's TagKey ``^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$`` means the same in both.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

_CLASS = re.compile(r"\\p\{([A-Z])\}|\\p([A-Z])")


@functools.cache
def _categories() -> dict[str, str]:
    """Major category letter -> the contents of a character class (ranges) that matches exactly it."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    last: str | None = None
    for cp in range(sys.maxunicode + 1):
        major = unicodedata.category(chr(cp))[0]
        spans = ranges.setdefault(major, [])
        if major == last and spans and spans[-1][1] == cp - 1:
            spans[-1] = (spans[-1][0], cp)
        else:
            spans.append((cp, cp))
        last = major

    def esc(cp: int) -> str:
        return f"\\U{cp:08x}"

    return {major: "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in spans)
            for major, spans in ranges.items()}


def to_python(pattern: str) -> str:
    """``pattern`` with every ``\\p{X}`` (X one of Unicode's major categories) spelled out for ``re``."""
    if "\\p" not in pattern:
        return pattern
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            match = _CLASS.match(pattern, i)
            if match is not None:
                body = _categories().get(match.group(1) or match.group(2), "")
                out.append(body if in_class else f"[{body}]")
                i = match.end()
                continue
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def compile(pattern: str) -> re.Pattern[str]:
    """``re.compile`` of an RE2 pattern (see :func:`to_python`); raises ``re.error`` as ``re`` does."""
    return re.compile(to_python(pattern))


def search(pattern: str, value: str) -> bool:
    return compile(pattern).search(value) is not None
