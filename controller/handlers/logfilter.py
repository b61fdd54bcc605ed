"""Keep the operator's log honest: waiting is not an error.

kopf logs every TemporaryError as ERROR ("Handler 'reconcile' failed temporarily: ..."). The operator
uses temporary errors also to look again later while it waits for something that is not a failure: a
parent that is not Ready yet, an account creation in progress, a free creation slot. Those records are
lowered to INFO; real failures stay errors.
"""

from __future__ import annotations

import logging

WAITING_PREFIXES = (
    "WaitingForReference:",
    "Creating:",
    "CreationInProgress:",
    "CreationLimitReached:",
)


class WaitingIsNotAnError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and "failed temporarily" in record.getMessage():
            message = record.getMessage()
            if any(f"failed temporarily: {prefix}" in message for prefix in WAITING_PREFIXES):
                record.levelno = logging.INFO
                record.levelname = "INFO"
        return True


def install() -> None:
    logging.getLogger("kopf.objects").addFilter(WaitingIsNotAnError())
