"""What the operator's objects declare, kept in memory: for unmanaged-resource counts and spreading reads.

Every reconcile records which AWS id its object is bound to and whether it declares tags; deletion
forgets it.  After a restart it fills again as kopf resumes every object.
"""

from __future__ import annotations

import bisect
import logging
import threading
from dataclasses import dataclass

from controller import metrics
from controller.state import OrgSnapshot

log = logging.getLogger(__name__)

# Kinds as the metrics label them, and how an AWS resource of the snapshot maps to them.
KIND_ORGUNIT = "OrgUnit"
KIND_ACCOUNT = "AwsAccount"
KIND_POLICY = "ServiceControlPolicy"
KIND_MANAGEMENT_POLICY = "ManagementPolicy"
AUTHORIZATION_POLICY_TYPES = frozenset({"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"})
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

    def forget(self, kind: str, name: str) -> None:
        self.record(kind, name, None, False)
        with self._lock:
            self._tags_read.pop((f"{kind}/tags", name), None)

    def claim_tag_read(self, read: str, key: str, epoch: int, turn: int, *, forced: bool = False) -> bool:
        """Whether the spread read ``read`` (``OrgUnit/tags``, ``Organization/accessRole``...) of ``key`` is due in
        the resync ``epoch``, and if so, that it is made now: ``forced`` reads are always due; otherwise the first
        resync at or after the key's next turn (an epoch equal to ``turn`` modulo TAG_SPREAD) since the key was last
        read, whatever read it, so a resync that ran late moves the read to the next one instead of skipping a
        whole cycle; never twice in one resync (timers may fire more than once per resync). A key never read yet
        is read in its turn."""
        with self._lock:
            last = self._tags_read.get((read, key))
            if not forced:
                if last is None:
                    if epoch % TAG_SPREAD != turn:
                        return False
                elif epoch < last + 1 + (turn - last - 1) % TAG_SPREAD:
                    return False
            self._tags_read[(read, key)] = epoch
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
        declared = self.declared_ids(KIND_POLICY) | self.declared_ids(KIND_MANAGEMENT_POLICY)
        customer = [p for p in snapshot.policies.values() if not p.aws_managed and p.id not in declared]
        policies = sorted(p.id for p in customer if p.type in AUTHORIZATION_POLICY_TYPES)
        management = sorted(p.id for p in customer if p.type not in AUTHORIZATION_POLICY_TYPES)
        return [Unmanaged(KIND_ACCOUNT, tuple(accounts)), Unmanaged(KIND_ORGUNIT, tuple(ous)),
                Unmanaged(KIND_POLICY, tuple(policies)), Unmanaged(KIND_MANAGEMENT_POLICY, tuple(management))]

    def report_unmanaged(self, snapshot: OrgSnapshot) -> list[Unmanaged]:
        found = self.unmanaged(snapshot)
        for item in found:
            metrics.UNMANAGED_RESOURCES.labels(kind=item.kind).set(len(item.ids))
            if item.ids:
                log.info("unmanaged %s resources (no object declares them): %s", item.kind, ", ".join(item.ids))
        return found
