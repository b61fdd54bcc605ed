"""AWS refusals that mean "your own policy write is not seen yet", met as a bounded wait.

IAM and S3 policy changes take time to be seen by other services (AWS IAM user guide, "Troubleshoot IAM" >
"Changes that I make are not always immediately visible": "IAM uses a distributed computing model called eventual
consistency. Any change that you make in IAM (or other AWS services) ... takes time to become visible from all
possible endpoints"; "be sure to verify that the changes have been propagated before production workflows depend
on them", read 2026-12-07). The operator writes the log bucket's policy and then creates the trail and delivery
channels that need it, and creates the aggregator's role and then the aggregator: right after those writes AWS can
answer as if the policy were wrong. Those answers (:data:`CODES`) read ``WaitingForPropagation``, a wait looked at
again after ``AWSORG_WAIT_SECONDS`` and not backed off, until the same action has been refused so for
``AWSORG_PROPAGATION_SECONDS`` (120 by default); then it is the error it is (the policy really does not admit the
service: someone else's Deny, a key policy, an SCP).

The first refusal of each action is remembered in memory only (a restart waits once more: bounded all the same);
an entry is dropped when the action is no longer refused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from types import MappingProxyType

from controller.aws.errors import AwsError
from controller.planner.actions import Action, Blocked

#: The AWS error codes that, right after the operator's own policy write, mean the write is not seen yet; what the
#: operator wrote before (for the message). Sources: botocore cloudtrail 2013-11-01 ("This exception is thrown when
#: the policy on the S3 bucket is not sufficient"), config 2014-11-12 ("Your Amazon S3 bucket policy does not allow
#: Config to write to it"; InvalidRoleException, documented for the recorder's role, is what PutConfigurationAggregator
#: answers when Config cannot assume the aggregator's role).
CODES: Mapping[str, str] = MappingProxyType({
    "InsufficientS3BucketPolicyException": "the log bucket's policy",
    "InsufficientDeliveryPolicyException": "the log bucket's policy",
    "InvalidRoleException": "the role Config assumes",
})
DEFAULT_LIMIT_SECONDS = 120.0


class PropagationWaits:
    """When each action was first refused for a policy not seen yet; whether it may still wait."""

    def __init__(self, limit_seconds: float = DEFAULT_LIMIT_SECONDS) -> None:
        self.limit_seconds = limit_seconds
        self._lock = threading.Lock()
        self._first: dict[str, float] = {}

    def explain(self, action: Action, exc: AwsError, now: float | None = None) -> Blocked | None:
        """``WaitingForPropagation`` for a refusal that may be propagation still within the limit; None otherwise
        (the caller explains the error as it would any other)."""
        what = CODES.get(exc.code)
        key = action.describe()
        now = time.monotonic() if now is None else now
        with self._lock:
            if what is None:
                self._first.pop(key, None)
                return None
            for stale in [k for k, t in self._first.items() if now - t > 2 * self.limit_seconds]:
                del self._first[stale]  # an action no longer tried (its wait is over either way)
            first = self._first.setdefault(key, now)
        waited = now - first
        if waited > self.limit_seconds:
            return None
        return Blocked("WaitingForPropagation",
                       f"{action.describe()}: AWS does not see {what} the operator just wrote yet ({exc.code}: "
                       f"{exc.aws_message}); IAM and S3 changes take seconds to reach other services. Waited "
                       f"{waited:.0f} s of at most {self.limit_seconds:.0f} s (AWSORG_PROPAGATION_SECONDS)")

    def done(self, action: Action) -> None:
        """The action went through: its wait is over."""
        with self._lock:
            self._first.pop(action.describe(), None)
