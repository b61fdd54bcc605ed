"""Keep the operator's log honest: waiting is not an error.

kopf logs every TemporaryError as ERROR ("Handler 'reconcile' failed temporarily: ..."). The operator
uses temporary errors also to look again later while it waits for something that is not a failure: a
parent that is not Ready yet, an account creation in progress, a free creation slot. The handler marks
the object as waiting (the engine's typed outcome, never its message) right before it raises; kopf's
next error record about that object is the one for that raise, and is lowered to INFO. Real failures
stay errors.
"""

from __future__ import annotations

import logging
import threading

from controller import metrics


class Waiting:
    """Objects (by uid) whose handler has just raised to wait, not because it failed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uids: set[str] = set()

    def mark(self, uid: str | None) -> None:
        if uid:
            with self._lock:
                self._uids.add(uid)

    def consume(self, uid: str | None) -> bool:
        with self._lock:
            if uid in self._uids:
                self._uids.discard(uid)
                return True
            return False


WAITING = Waiting()


class WaitingIsNotAnError(logging.Filter):
    def __init__(self, waiting: Waiting = WAITING) -> None:
        super().__init__()
        self.waiting = waiting

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR:
            ref = getattr(record, "k8s_ref", None)
            if isinstance(ref, dict) and self.waiting.consume(ref.get("uid")):
                record.levelno = logging.INFO
                record.levelname = "INFO"
        return True


def install() -> None:
    logging.getLogger("kopf.objects").addFilter(WaitingIsNotAnError())


class PeeringState(logging.Filter):
    """Whether kopf's peering has paused this operator (a higher-priority peer is active).

    kopf keeps that state to itself and only says so in its log ("Pausing operations in favour of ...",
    "Resuming operations after the pause ..."), so the log is where it is read. A standby replica must not
    observe the organization: that would double the AWS API calls of every resync.
    """

    def __init__(self) -> None:
        super().__init__()
        self.paused = False

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(("Pausing operations in favour of", "Pausing all operators")):
            self.paused = True
            metrics.OPERATOR_ACTIVE.set(0)
        elif message.startswith("Resuming operations after the pause"):
            self.paused = False
            metrics.OPERATOR_ACTIVE.set(1)
        return True


PEERING = PeeringState()


def install_peering_state(*, peering: bool) -> PeeringState:
    """With peering, kopf starts paused (settings.peering.mandatory) and says "Resuming ..." once it finds
    no higher-priority peer; a replica that starts behind one stays paused without a word."""
    logging.getLogger("kopf._core.engines.peering").addFilter(PEERING)
    PEERING.paused = peering
    metrics.OPERATOR_ACTIVE.set(0 if peering else 1)
    return PEERING
