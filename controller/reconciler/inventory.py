"""What the operator's objects declare, kept in memory: for unmanaged-resource counts and tag-read spreading.

Every reconcile records which AWS id its object is bound to and whether it declares tags; deletion
forgets it.  After a restart it fills again as kopf resumes every object.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from controller import metrics
from controller.planner.access_role import Verdict
from controller.state import OrgSnapshot

log = logging.getLogger(__name__)

# Kinds as the metrics label them, and how an AWS resource of the snapshot maps to them.
KIND_ORGUNIT = "OrgUnit"
KIND_ACCOUNT = "AwsAccount"
KIND_POLICY = "ServiceControlPolicy"
KIND_ORGANIZATION = "Organization"
TAG_SPREAD = 10  # each object's tags are read once every this many resyncs


@dataclass(frozen=True)
class Unmanaged:
    kind: str
    ids: tuple[str, ...]


class Inventory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: dict[tuple[str, str], str] = {}
        self._tagged: dict[str, list[str]] = {}
        self._tags_read: dict[tuple[str, str], int] = {}
        # The Organization's baseline per member account (account id -> verdict), for each AwsAccount's Baselined
        # condition; and the accounts whose verdict changed since the resync last looked.
        self._baseline: dict[str, Verdict] = {}
        self._baseline_changed: set[str] = set()
        self._baseline_known = False  # the Organization has said, since this process started, what it declares
        self._baselined: set[str] = set()  # member accounts that have had their baseline

    def record(self, kind: str, name: str, aws_id: str | None, declares_tags: bool) -> None:
        with self._lock:
            if aws_id:
                self._ids[(kind, name)] = aws_id
            else:
                self._ids.pop((kind, name), None)
            names = self._tagged.setdefault(kind, [])
            i = bisect.bisect_left(names, name)
            present = i < len(names) and names[i] == name
            if declares_tags and not present:
                names.insert(i, name)
            elif not declares_tags and present:
                names.pop(i)

    def record_baseline(self, verdicts: Mapping[str, Verdict] | None) -> None:
        """The Organization's verdicts for every member account (the whole set: accounts not in it have none);
        None: it declares no baseline (no accessRole, or the object is gone), so no account has one."""
        verdicts = verdicts or {}
        with self._lock:
            changed = {a for a in set(verdicts) | set(self._baseline) if verdicts.get(a) != self._baseline.get(a)}
            self._baseline = dict(verdicts)
            self._baseline_changed |= changed
            self._baseline_known = True
            if not verdicts:
                self._baselined.clear()
            self._baselined = {a for a in self._baselined if a in verdicts}
            self._baselined |= {a for a, v in verdicts.items() if v.state == "compliant"}

    def baseline(self, account_id: str) -> Verdict | None:
        with self._lock:
            return self._baseline.get(account_id)

    def baseline_known(self) -> bool:
        """Whether the Organization has recorded its verdicts since this process started (before that, an account
        without a verdict keeps the Baselined condition it has)."""
        with self._lock:
            return self._baseline_known

    def remember_baselined(self, account_ids: Iterable[str]) -> None:
        """Accounts the Organization's status says have had their baseline (read back after a restart)."""
        with self._lock:
            self._baselined.update(account_ids)

    def baselined(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._baselined)

    def take_baseline_changes(self) -> set[str]:
        """The accounts whose verdict changed since the last call (their AwsAccount objects are compared again)."""
        with self._lock:
            changed, self._baseline_changed = self._baseline_changed, set()
            return changed

    def forget(self, kind: str, name: str) -> None:
        self.record(kind, name, None, False)
        with self._lock:
            self._tags_read.pop((kind, name), None)
        if kind == KIND_ORGANIZATION:  # deleted: it declares no baseline any more
            self.record_baseline(None)

    def claim_tag_read(self, kind: str, name: str, epoch: int) -> bool:
        """True once per object and resync epoch (timers may fire more than once per resync)."""
        with self._lock:
            if self._tags_read.get((kind, name)) == epoch:
                return False
            self._tags_read[(kind, name)] = epoch
            return True

    def tag_bucket(self, kind: str, name: str) -> int:
        """The resync (modulo 10) in which this object's tags are read: its rank among the kind's objects
        that declare tags, so each resync reads the tags of at most a tenth of them (rounded up)."""
        with self._lock:
            names = self._tagged.get(kind, [])
            i = bisect.bisect_left(names, name)
            return i % TAG_SPREAD

    def bound_to(self, ids: frozenset[str]) -> set[tuple[str, str]]:
        """The objects (kind, name) bound to any of these AWS ids."""
        with self._lock:
            return {key for key, aws_id in self._ids.items() if aws_id in ids}

    def declared_ids(self, kind: str) -> set[str]:
        with self._lock:
            return {aws_id for (k, _), aws_id in self._ids.items() if k == kind}

    def unmanaged(self, snapshot: OrgSnapshot) -> list[Unmanaged]:
        """AWS resources no object declares. The management account and AWS-managed policies (such as
        FullAWSAccess) are AWS's own and never counted."""
        accounts = sorted(
            set(snapshot.accounts) - {snapshot.management_account_id} - self.declared_ids(KIND_ACCOUNT)
        )
        ous = sorted(set(snapshot.ous) - self.declared_ids(KIND_ORGUNIT))
        policies = sorted(
            {p.id for p in snapshot.policies.values() if not p.aws_managed} - self.declared_ids(KIND_POLICY)
        )
        return [Unmanaged(KIND_ACCOUNT, tuple(accounts)), Unmanaged(KIND_ORGUNIT, tuple(ous)),
                Unmanaged(KIND_POLICY, tuple(policies))]

    def report_unmanaged(self, snapshot: OrgSnapshot) -> list[Unmanaged]:
        found = self.unmanaged(snapshot)
        for item in found:
            metrics.UNMANAGED_RESOURCES.labels(kind=item.kind).set(len(item.ids))
            if item.ids:
                log.info("unmanaged %s resources (no object declares them): %s", item.kind, ", ".join(item.ids))
        return found
