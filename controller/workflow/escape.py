"""Strings from a pull request or from AWS, shown in ``awsorg validate`` and ``awsorg plan`` output.

Names, tags, documents and file names are hostile input in CI: a newline in an OU name would start a line of its
own (in a GitHub Actions log, a workflow command ``::...``), ``<!--`` would hide every later row of a Markdown
comment, ``|`` split a table cell, a backtick open code. :func:`plain` keeps a string on one line, :func:`markdown_text`
makes it literal text in GitHub Markdown; both cut what is longer than :data:`MAX_SHOWN` characters, and say so.
"""

from __future__ import annotations

import re

__all__ = ["MAX_SHOWN", "markdown_text", "plain"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MARKDOWN = re.compile(r"[\\`*_{}\[\]#!|~<>&:@$]")  # ( ) make no link once [ ] are escaped
MAX_SHOWN = 2_000  # characters of one change's text in the output (a 32,000-character name is cut, and said so)


def plain(text: str) -> str:
    """``text`` on one line: control characters and line separators as ``\\n``, ``\\x1b``, ``\\u2028``, the rest as
    written (so a name cannot start a new line of the output, nor a GitHub workflow command ``::...``); past
    :data:`MAX_SHOWN` characters, cut and said so."""
    def one(m: re.Match[str]) -> str:
        code = ord(m.group(0))
        return {10: "\\n", 13: "\\r", 9: "\\t"}.get(code, f"\\u{code:04x}" if code > 0xff else f"\\x{code:02x}")

    shown = _CONTROL.sub(one, text)
    if len(shown) > MAX_SHOWN:
        shown = f"{shown[:MAX_SHOWN]}... ({len(shown) - MAX_SHOWN:,} more characters)"
    return shown


_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "@\u2060"}  # WORD JOINER: "@\u2060team" mentions nobody


def markdown_text(text: str) -> str:
    """``text`` as literal text in a GitHub Markdown table cell: on one line (:func:`plain`), every character Markdown
    or HTML give a meaning escaped (``<!--`` cannot hide the rows after it, ``|`` cannot split the cell, a backtick
    cannot open code, ``[x](url)`` is no link, ``:x:`` no emoji, ``@team`` no mention)."""
    return _MARKDOWN.sub(lambda m: _ENTITIES.get(m.group(0), "\\" + m.group(0)), plain(text))
