"""docs/operating.md explains every condition reason the code can set.

The reasons are extracted from the code, so the guide cannot fall behind:

- the ``BlockReason`` Literal in controller/planner/actions.py (the planner's ``Blocked(...)`` reasons);
- the values of every ``AWS_REASONS`` dict in controller/reconciler/ (AWS error code -> reason),
  and the default of ``AWS_REASONS.get(code, "...")``;
- in controller/planner/ and controller/reconciler/: the reason passed to ``Blocked(reason, ...)``,
  ``*.fail(reason, ...)`` and ``*.progress(reason, ...)`` (first argument, or
  ``reason=``) and to ``*.conditions.set(type, status, reason, ...)`` (third argument), when it is a string literal or a
  conditional expression of string literals; and string literals assigned to a variable ``reason``.

The guide lists each reason as a `Reason` in a table row or heading: ``| `Reason` |``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operating.md"
REASON_TABLES = ("AWS_REASONS", "_AWS_REASONS")


def _str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _strs(node: ast.AST | None) -> set[str]:
    """The string literals an expression can evaluate to: "X", or "X" if ... else "Y"."""
    if isinstance(node, ast.IfExp):
        return _strs(node.body) | _strs(node.orelse)
    value = _str(node)
    return {value} if value else set()


def _arg(call: ast.Call, position: int) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg == "reason":
            return keyword.value
    return call.args[position] if len(call.args) > position else None


def reasons_in_code() -> set[str]:
    found: set[str] = set()
    actions = ast.parse((ROOT / "controller" / "planner" / "actions.py").read_text())
    for node in ast.walk(actions):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "BlockReason"
                                                 for t in node.targets):
            found.update(s for s in (_str(n) for n in ast.walk(node.value)) if s)
    paths = [*(ROOT / "controller" / "planner").rglob("*.py"), *(ROOT / "controller" / "reconciler").rglob("*.py")]
    for path in sorted(paths):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                table = node.value
                if isinstance(table, ast.Call) and table.args:  # MappingProxyType({...})
                    table = table.args[0]
                if names & set(REASON_TABLES) and isinstance(table, ast.Dict):
                    for value in table.values:
                        found |= _strs(value)
                if "reason" in names:
                    found |= _strs(node.value)
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "Blocked":
                found |= _strs(_arg(node, 0))
            elif isinstance(func, ast.Attribute):
                if func.attr in ("fail", "_fail", "progress"):
                    found |= _strs(_arg(node, 0))
                elif func.attr == "set" and isinstance(func.value, ast.Attribute) and func.value.attr == "conditions":
                    found |= _strs(_arg(node, 2))
                elif func.attr == "get" and isinstance(func.value, ast.Name) and func.value.id in REASON_TABLES:
                    found |= _strs(node.args[1] if len(node.args) == 2 else None)
    return found


def reasons_in_guide() -> set[str]:
    return set(re.findall(r"^\|\s*`([A-Za-z]+)`\s*\|", GUIDE.read_text(), re.M))


def test_extraction_finds_the_known_reasons() -> None:
    assert {"WaitingForReference", "InvalidSpec", "AwsThrottled", "AwsError", "OrgUnitNotEmpty",
            "AccessDenied", "ReconcileSuccess", "Available", "DriftDetected"} <= reasons_in_code()


def test_every_reason_is_in_the_operating_guide() -> None:
    missing = reasons_in_code() - reasons_in_guide()
    assert not missing, f"docs/operating.md does not explain these condition reasons: {sorted(missing)}"
