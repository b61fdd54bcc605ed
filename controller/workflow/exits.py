"""The exit codes of every ``awsorg`` command: one table, printed by ``awsorg --help``.

Like the linters a CI runs (ruff, mypy): 1 when the files are refused, 2 when the tool could not do its job
(argparse's own exit code for a usage error is 2 as well); 3 when ``awsorg plan`` ran but could not read all it
needed, so that a CI job fails rather than show a plan that claims what it did not see.
"""

from __future__ import annotations

OK = 0
REFUSED = 1
FAILED = 2
INCOMPLETE = 3

TABLE = (
    (OK, "done: no findings (validate), no refused change (plan), written (export, crds), stopped (run)"),
    (REFUSED, "the input is refused: validate's errors, a change plan would refuse (invalid files included), "
     "demo's objects not Ready in time"),
    (FAILED, "the tool could not do its job: a usage error, an invalid AWSORG_* setting, an unreadable --base, "
     "AWS or the cluster unreachable, no AWS credentials, the sandbox extra missing (demo)"),
    (INCOMPLETE, "plan only: a read it needed could not be made (a member role it cannot assume, a service that "
     "denied it); what it could not see is listed, and what it shows is not the whole change"),
)


def describe() -> str:
    """The table, for ``--help``."""
    return "exit codes:\n" + "\n".join(f"  {code}  {words}" for code, words in TABLE)
