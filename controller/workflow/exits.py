"""The exit codes of every ``awsorg`` command: one table, printed by ``awsorg --help``.

Like the linters a CI runs (ruff, mypy): 1 when the files are refused, 2 when the tool could not do its job
(argparse's own exit code for a usage error is 2 as well).
"""

from __future__ import annotations

OK = 0
REFUSED = 1
FAILED = 2

TABLE = (
    (OK, "done: no findings (validate), no refused change (plan), written (export, crds), stopped (run)"),
    (REFUSED, "the input is refused: validate's errors, a change plan would refuse (invalid files included), "
     "demo's objects not Ready in time"),
    (FAILED, "the tool could not do its job: a usage error, an invalid AWSORG_* setting, an unreadable --base, "
     "AWS or the cluster unreachable, the sandbox extra missing (demo)"),
)


def describe() -> str:
    """The table, for ``--help``."""
    return "exit codes:\n" + "\n".join(f"  {code}  {words}" for code, words in TABLE)
