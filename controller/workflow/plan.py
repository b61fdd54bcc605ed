"""``awsorg plan PATH...``: what the operator would do in AWS after the merge. Read-only.

This is the operator's reconcile engine in a dry run: the same adapters and planners, over the objects of
the files, against one read of the organization, through a gateway that records writes instead of
making them (``controller.aws.dryrun``). Objects are reconciled in rounds until nothing changes, as the
operator converges: a child waits for its parent's id, an account is created and then moved, a policy
type is enabled and then the policy attached.

Bindings of objects to AWS resources come from where the operator gets them. With ``--base`` (the files
before the change: a directory, or a git revision such as ``origin/main``), the base's objects are
reconciled first and each object of the change starts from what its earlier version is bound to, so a
renamed OU is renamed, an edited policy updated, and objects removed from the files are deleted or
forgotten per their ``deletionPolicy``. Without a base, objects are matched as the operator matches a new
object, and the report says what that cannot tell.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.api.guardrails import DEFAULT as DEFAULT_POLICY
from controller.api.guardrails import OperatorPolicy, PolicyFile
from controller.api.models import API_VERSION
from controller.aws.dryrun import RecordingCentralLogging, RecordingGateway, RecordingMembers, Unread, is_new
from controller.aws.factory import Factory
from controller.aws.writes import registered, registration
from controller.planner.actions import WAIT_REASONS, Action
from controller.reconciler.base import Board, Claim, Event, IndexEntry, ObjectView, Outcome, RefState
from controller.reconciler.execute import event_reason
from controller.reconciler.kinds import ADAPTERS, PLURALS, engines
from controller.reconciler.status import BINDING
from controller.settings import Settings
from controller.state import OrgSnapshot
from controller.workflow import exits, safeyaml, sources
from controller.workflow.escape import markdown_text, plain

KINDS = tuple(ADAPTERS)
MAX_ROUNDS = 12  # the deepest chain: 5 OU levels, an account created then moved, a type enabled then attached
NO_BASE = ("without --base or --cluster, objects are matched to AWS as the operator matches a new object (OUs by "
           "name under their parent, accounts by accountId or email, policies by name): a renamed object cannot be "
           "told from a new one, and objects removed from the files are not shown. Give the files before the change "
           "with --base (a directory, or a git revision such as origin/main), or read the cluster with --cluster")
MEMBERS_NOT_READ = ("spec.accessRole: member accounts were not read (no access to them was configured), so the "
                    "access role's changes are not in this plan")
LOGGING_NOT_READ = ("spec.centralLogging: the trail, the log bucket and AWS Config were not read (no access to "
                    "CloudTrail and member accounts was configured), so central logging's changes are not in this plan")
ROOT_ACCESS_NOT_READ = ("spec.rootAccess: IAM's centralized root access features were not read (no IAM client for the "
                        "management account was configured), so their changes are not in this plan")
Objects = dict[str, dict[str, dict[str, Any]]]  # kind -> metadata.name -> object
Members = Callable[[], RecordingMembers]  # a fresh reader of member accounts for each dry run (None: none)
Trails = Callable[[str], Any]  # region -> a CloudTrail client with the operator's credentials (None: none)
Iam = Callable[[], Any]  # IAM in the management account, the operator's credentials (rootAccess; None: not read)


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    symbol: str  # + create, ~ change, - delete or forget, = reported only, ! refused
    text: str
    policy: str = ""  # the management and deletion policy that apply
    detail: str = ""  # a unified diff of a policy document
    reason: str = ""  # the reason of the operator's event for it (Created, Moved, ...), or of the refusal


@dataclass
class PlanReport:
    changes: list[Change] = field(default_factory=list)
    problems: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unchanged: int = 0
    unread: list[Unread] = field(default_factory=list)  # reads the plan needed and could not make

    @property
    def empty(self) -> bool:
        return not self.changes and not self.problems

    @property
    def incomplete(self) -> bool:
        return bool(self.unread)

    @property
    def exit_code(self) -> int:
        """:data:`~controller.workflow.exits.INCOMPLETE`: some reads could not be made, so the plan cannot say what
        they would show (whatever else it says); ``REFUSED``: some changes would be refused; ``OK``: neither."""
        if self.unread:
            return exits.INCOMPLETE
        return exits.REFUSED if self.problems else exits.OK

    def count(self, symbol: str) -> int:
        return sum(1 for c in self.changes if c.symbol == symbol)


# ---------------------------------------------------------------------------------------------- loading


def load(paths: Sequence[Path]) -> Objects:
    """kind -> metadata.name -> object, for our kinds in every YAML file under ``paths``."""
    objects: Objects = {k: {} for k in KINDS}
    for path in paths:
        root = sources.checkout_root(path)  # as validate reads them: no link out of the checkout, no device, capped
        for file in sources.yaml_files(path) or []:
            for doc in safeyaml.safe_load_all(sources.read_text(file, root)):  # validated first: no bombs
                if isinstance(doc, dict) and doc.get("apiVersion") == API_VERSION and doc.get("kind") in KINDS:
                    objects[doc["kind"]][doc["metadata"]["name"]] = doc
    return objects


# ---------------------------------------------------------------------------------------- the dry run


@dataclass
class _Object:
    kind: str
    name: str
    spec: dict[str, Any]
    status: dict[str, Any]
    created: str  # objects of the base are older than the change's new ones (claims: the older keeps it)
    annotations: dict[str, str] = field(default_factory=dict)
    applied: list[Action] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    outcome: Outcome | None = None

    def view(self) -> ObjectView:
        return ObjectView(kind=self.kind, name=self.name, generation=1, spec=self.spec, status=self.status,
                          trigger="change", created=self.created, annotations=self.annotations)


class _Store:
    """The objects of a dry run, answering references and claims as kopf's indexes do in the operator."""

    def __init__(self, objects: Iterable[_Object]) -> None:
        self.objects = {(o.kind, o.name): o for o in objects}
        self.board = Board()  # what one object publishes for the others (the Organization's baseline verdicts)
        self._entries: dict[tuple[str, str], tuple[dict[str, Any], IndexEntry]] = {}

    def _entry(self, obj: _Object) -> IndexEntry:
        """The object's index entry, computed again only when its status was replaced (as kopf re-indexes an object
        only when it changes): claims look at every object of a kind, so a plan of N objects stays linear."""
        cached = self._entries.get((obj.kind, obj.name))
        if cached is not None and cached[0] is obj.status:
            return cached[1]
        entry = ADAPTERS[obj.kind].index(obj.name, obj.spec, obj.status, {"creationTimestamp": obj.created})
        self._entries[(obj.kind, obj.name)] = (obj.status, entry)
        return entry

    def get(self, kind: str, name: str) -> RefState:
        obj = self.objects.get((kind, name))
        return RefState(exists=False) if obj is None else self._entry(obj).ref

    def claims(self, kind: str, key: str) -> list[Claim]:
        entries = (self._entry(obj) for obj in self.objects.values() if obj.kind == kind)
        return [e.claim for e in entries if e.claim is not None and key in e.claim_keys]

    def claim_keys(self, kind: str) -> list[str]:
        entries = (self._entry(obj) for obj in self.objects.values() if obj.kind == kind)
        return sorted({key for e in entries for key in e.claim_keys})


def _settled(status: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in status.items() if k != "lastSyncTime"}


def _settings(policy: OperatorPolicy | None) -> Settings:
    """The dry run's settings: the administrator's policy given (None: its defaults), no waits."""
    return Settings(wait_seconds=0.1, policy=PolicyFile.fixed(policy or DEFAULT_POLICY))


def _converge(store: _Store, gateway: RecordingGateway, policy: OperatorPolicy | None = None) -> None:
    """Reconcile every object in rounds, as the operator would, until a round changes nothing."""
    kinds = engines(gateway, store, settings=_settings(policy), board=store.board)
    order = sorted(store.objects.values(), key=lambda o: (KINDS.index(o.kind), o.name))
    for _ in range(MAX_ROUNDS):
        progressed = False
        for obj in order:
            gateway.unread.current = f"{obj.kind}/{obj.name}"  # what a read it cannot make was for
            outcome = kinds[obj.kind].reconcile(obj.view())
            progressed |= bool(outcome.applied) or _settled(outcome.status) != _settled(obj.status)
            obj.status, obj.outcome = outcome.status, outcome
            obj.applied += outcome.applied
            obj.events += outcome.events
        if not progressed:
            return


def _new_objects(objects: Objects, created: str, bindings: Mapping[tuple[str, str], dict[str, Any]]
                 ) -> list[_Object]:
    return [_Object(kind, name, dict(doc.get("spec") or {}), dict(bindings.get((kind, name), {})), created,
                    {str(k): str(v) for k, v in ((doc.get("metadata") or {}).get("annotations") or {}).items()})
            for kind in KINDS for name, doc in sorted(objects[kind].items())]


def _gateway(client: Any, members: Members | None, trails: Trails | None, iam: Iam | None = None) -> RecordingGateway:
    """A fresh dry run: the organization, member accounts and central logging each read once in it."""
    reader = members() if members is not None else None
    logs = RecordingCentralLogging(reader, trails) if reader is not None and trails is not None else None
    return RecordingGateway(client, members=reader, central_logging=logs, iam_client=iam)


def _bindings(base: Objects, client: Any, members: Members | None, trails: Trails | None,
              policy: OperatorPolicy | None = None, unread: list[Unread] | None = None, iam: Iam | None = None
              ) -> dict[tuple[str, str], dict[str, Any]]:
    """What each object of the base is bound to in AWS: the base reconciled in a dry run of its own (the reads it
    could not make added to ``unread``)."""
    store = _Store(_new_objects(base, "0", {}))
    gateway = _gateway(client, members, trails, iam)
    _converge(store, gateway, policy)
    if unread is not None:
        unread.extend(u for u in gateway.unread.entries if u not in unread)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for key, obj in store.objects.items():
        resource_id = obj.status.get("id")
        if resource_id and not is_new(resource_id):
            found[key] = {"id": resource_id, **({"email": obj.status["email"]} if obj.status.get("email") else {})}
    return found




def _live(cluster: Mapping[str, Sequence[Mapping[str, Any]]]) -> Objects:
    """The cluster's objects by kind and name (``cluster``: plural -> objects, as ``kubectl get`` lists them)."""
    return {kind: {o["metadata"]["name"]: dict(o) for o in cluster.get(plural, [])} for kind, plural in PLURALS.items()}


def plan_objects(head: Objects, client: Any, base: Objects | None = None,
                 cluster: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                 members: Members | None = None, trails: Trails | None = None,
                 policy: OperatorPolicy | None = None, iam: Iam | None = None) -> PlanReport:
    """The plan of ``head`` against the organization ``client`` reads, under the administrator's ``policy`` (None:
    its defaults), as the operator would refuse what it forbids (``ForbiddenByPolicy``).

    Bindings and what the change removes come from ``cluster`` (the objects there, with the status the
    operator wrote) when given, else from ``base`` (the files before the change, reconciled first).
    ``members``: reads member accounts (the Organization's access role) as the operator does; None: the access
    role is not planned, and the report says so. ``trails`` (with ``members``): reads the organization trail, so
    that ``centralLogging`` is planned (the bucket, aggregator and AWS Config through ``members``). ``iam``: IAM in
    the management account (ListOrganizationsFeatures), so that ``rootAccess`` is planned; None: it is not.
    """
    unread: list[Unread] = []
    if cluster is not None:
        before = _live(cluster)
        bindings = {(k, n): {f: o["status"][f] for f in BINDING if (o.get("status") or {}).get(f)}
                    for k in KINDS for n, o in before[k].items()}
        created = {(k, n): str(o["metadata"].get("creationTimestamp") or "0") for k in KINDS
                   for n, o in before[k].items()}
    elif base is not None:
        before, bindings = base, _bindings(base, client, members, trails, policy, unread, iam)
        created = {(k, n): "0" for k in KINDS for n in base[k]}
    else:
        before, bindings, created = None, {}, {}
    objects = _new_objects(head, "9", bindings)
    for obj in objects:
        obj.created = created.get((obj.kind, obj.name), "9")  # new objects are the youngest claimants
    store = _Store(objects)
    gateway = _gateway(client, members, trails, iam)
    _converge(store, gateway, policy)
    removed: list[_Object] = []
    if before is not None:
        removed = [o for o in _new_objects(before, "0", bindings) if (o.kind, o.name) not in store.objects]
        kinds = engines(gateway, store, settings=_settings(policy), board=store.board)
        for obj in sorted(removed, key=lambda o: (-KINDS.index(o.kind), o.name)):
            gateway.unread.current = f"{obj.kind}/{obj.name}"
            obj.outcome = kinds[obj.kind].delete(obj.view())
            obj.applied = list(obj.outcome.applied)
    report = _report(objects, removed, gateway, before is not None)
    report.unread = [*unread, *(u for u in gateway.unread.entries if u not in unread)]
    return report


# --------------------------------------------------------------------------------------------- the report


class _Labels:
    """Ids as a person knows them: OUs and accounts by path, policies by name; what the plan creates is (new)."""

    def __init__(self, *snapshots: OrgSnapshot | None) -> None:
        labels: dict[str, str] = {}
        for snap in snapshots:  # the later ones win
            if snap is None:
                continue
            labels[snap.root_id] = "Root"
            for ou in snap.ous.values():
                labels[ou.id] = snap.path(ou.id) + (" (new)" if is_new(ou.id) else "")
            for acct in snap.accounts.values():
                labels[acct.id] = f"{acct.name!r} ({'new' if is_new(acct.id) else acct.id})"
            for policy in snap.policies.values():
                labels[policy.id] = f"{policy.name!r}"
        self._labels = labels
        ids = "|".join(re.escape(i) for i in sorted(labels, key=len, reverse=True))
        # "OU 'Production' (ou-1)" reads "OU Root/Production": the label replaces the name and the id together.
        self._pattern = re.compile(rf"\b(OU|account) '[^']*' \(({ids})\)|({ids})") if labels else None

    def __call__(self, text: str) -> str:
        if self._pattern is None:
            return text

        def one(m: re.Match[str]) -> str:
            return f"{m.group(1)} {self._labels[m.group(2)]}" if m.group(2) else self._labels[m.group(3)]

        return self._pattern.sub(one, text)


def _member_notes(objects: Sequence[_Object], gateway: RecordingGateway) -> list[str]:
    """What planning the access role and central logging cost in reads (writes are recorded, never sent), or that
    they were not planned."""
    specs = [o.spec for o in objects if o.kind == "Organization"]
    role, logging = any(s.get("accessRole") for s in specs), any(s.get("centralLogging") for s in specs)
    members, logs = gateway.members, gateway.central_logging
    missing = [note for note, declared, reader in ((MEMBERS_NOT_READ, role, members), (LOGGING_NOT_READ, logging, logs))
               if declared and reader is None]
    root = any(s.get("rootAccess") is not None for s in specs)
    if root and not gateway.reads_root_access:
        missing.append(ROOT_ACCESS_NOT_READ)
    if missing or not (role or logging or root) or not isinstance(members, RecordingMembers):
        return missing
    fields, what, calls = [], [], dict(members.calls)
    unread = {u.account for u in gateway.unread.entries}
    if role:
        fields.append("spec.accessRole")
        missed = len(members.accounts_unread)
        what.append(f"the access role in {len(members.accounts_read)} member account(s)"
                    + (f" (not in {missed} more: the plan is incomplete)" if missed else ""))
    if logging and isinstance(logs, RecordingCentralLogging):
        fields.append("spec.centralLogging")
        what.append(f"{'what it could of ' if unread else ''}the trail, the log bucket, the aggregator and AWS "
                    f"Config in {len(logs.config_accounts_read)} member account(s)")
        for operation, n in logs.calls.items():
            calls[operation] = calls.get(operation, 0) + n
    if root:
        fields.append("spec.rootAccess")
        what.append("each member account's root user")
    shown = ", ".join(f"{op} {n}" for op, n in sorted(calls.items()))
    return [f"{', '.join(fields)}: read {' and '.join(what)} through {members.role_name}: {sum(calls.values())} calls "
            f"to STS, IAM, S3, AWS Config and CloudTrail ({shown or 'none'}), none to AWS Organizations; no write"]


def _policy_words(kind: str, spec: Mapping[str, Any]) -> str:
    adapter = ADAPTERS[kind]
    deletion = spec.get("deletionPolicy") or adapter.default_deletion
    management = spec.get("managementPolicy") or "Manage"
    return f"managementPolicy {management}, deletionPolicy {deletion}"


def _document_diff(old: str | None, new: str) -> str:
    def pretty(content: str | None) -> list[str]:
        try:
            return json.dumps(json.loads(content or "{}"), indent=2, sort_keys=True).splitlines()
        except ValueError:
            return (content or "").splitlines()

    return "\n".join(difflib.unified_diff(pretty(old), pretty(new), "AWS now", "after the merge", lineterm=""))


def _symbol(action: Action, deleting: bool) -> str:
    symbol = registration(action).symbol
    return "-" if deleting and symbol != "+" else symbol


def _report(objects: Sequence[_Object], removed: Sequence[_Object], gateway: RecordingGateway,
            have_base: bool) -> PlanReport:
    report = PlanReport()
    initial = gateway.initial
    label = _Labels(gateway.snapshot(), initial)  # what exists now by its present path; what the plan makes, new
    if not have_base:
        report.notes.append(NO_BASE)
    report.notes.extend(_member_notes(objects, gateway))
    for obj in [*objects, *removed]:
        deleting = obj in removed
        words = _policy_words(obj.kind, obj.spec)
        writes = [a for a in obj.applied if registered(a)]  # not the status-only steps
        for action in writes:
            detail, write = "", registration(action)
            documents = write.document(action, initial) if write.document is not None and initial is not None else None
            if documents is not None:
                detail = _document_diff(*documents)
            text = label(action.describe())
            if write.by_name and not have_base:
                text += " (without --base, a rename looks the same: see the note)"
            report.changes.append(Change(obj.kind, obj.name, _symbol(action, deleting), text, words, detail,
                                         event_reason(action)))
        outcome = obj.outcome
        synced = next((c for c in (outcome.status.get("conditions") or []) if c["type"] == "Synced"), None) \
            if outcome else None
        if synced and synced["status"] == "False" and not (synced["reason"] in WAIT_REASONS and writes):
            report.problems.append(Change(obj.kind, obj.name, "!", label(f"{synced['reason']}: {synced['message']}"),
                                          words, reason=synced["reason"]))
        elif deleting and not writes and obj.status.get("id"):
            report.changes.append(Change(obj.kind, obj.name, "-", label(
                f"forget {obj.status['id']}: it stays in AWS"), words, reason="Retained"))
        elif have_base and outcome and (adopted := [e for e in obj.events if e.reason == "Adopted"]):
            # Without a base every existing resource looks adopted; with one, only what the change binds anew.
            report.changes.append(Change(obj.kind, obj.name, "=", label(adopted[0].message) + "; nothing changes in "
                                         "AWS", words, reason="Adopted"))
        elif outcome and not writes and outcome.status.get("drift"):
            fields = ", ".join(d["field"] for d in outcome.status["drift"])
            report.changes.append(Change(obj.kind, obj.name, "=", f"AWS differs in {fields}; reported, not changed",
                                         words, reason="DriftDetected"))
        elif not writes and not deleting:
            report.unchanged += 1
    return report


# ---------------------------------------------------------------------------------------------- output


INCOMPLETE = ("INCOMPLETE: the plan could not make {n} read(s) it needed (below), so it cannot say what they would "
              "show: changes there are missing from it.")


def _summary(report: PlanReport) -> str:
    if report.empty:
        return ("Nothing else found in what the plan could read." if report.incomplete
                else "No changes: AWS matches the files.")
    reported = f", {report.count('=')} reported only" if report.count("=") else ""
    return (f"Plan: {report.count('+')} to create, {report.count('~')} to change, {report.count('-')} to delete or "
            f"forget{reported}, {len(report.problems)} refused; {report.unchanged} unchanged.")


def _incomplete(report: PlanReport) -> str:
    return INCOMPLETE.format(n=len(report.unread))


def _unread_words(unread: Unread) -> str:
    account = unread.account if unread.account.startswith("the ") else f"account {unread.account}"
    return f"{account}: {unread.what}: {unread.error}"


# Every string here may come from the pull request (names, documents) or from AWS (names, tags): escaped so that
# it shows as written and cannot end a line, a table row or a code block, open an HTML comment or a link.
def _html(text: str) -> str:
    """``text`` inside an HTML element of the comment (``<code>``, where Markdown is not read but ``|`` still ends a
    table cell)."""
    return plain(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "&#124;")


def _code(text: str) -> str:
    """``text`` as code: a code span for what cannot break one (a kind and a metadata.name as validate admits it),
    else an HTML ``<code>`` element with everything escaped."""
    return f"`{text}`" if re.fullmatch(r"[A-Za-z]+/[a-z0-9][a-z0-9.-]{0,252}", text) else f"<code>{_html(text)}</code>"


def _fence(detail: str) -> str:
    """A code fence longer than any run of backticks in ``detail`` (which cannot close it)."""
    longest = max((len(run) for run in re.findall(r"`+", detail)), default=0)
    return "`" * max(3, longest + 1)


def format_text(report: PlanReport) -> str:
    lines = [_incomplete(report)] if report.incomplete else []
    lines += [f"  ? {u.object or 'the plan'}: {plain(_unread_words(u))}" for u in report.unread]
    lines.append(_summary(report))
    for change in [*report.changes, *report.problems]:
        lines.append(f"  {change.symbol} {change.kind}/{plain(change.name)}: {plain(change.text)}  "
                     f"[{plain(change.policy)}]")
        lines += [f"      {plain(line)}" for line in change.detail.splitlines()]
    lines += [f"Note: {plain(note)}" for note in report.notes]
    return "\n".join(lines) + "\n"


def format_markdown(report: PlanReport) -> str:
    lines = ["### awsorg plan", ""]
    if report.incomplete:
        lines += [f"**{markdown_text(_incomplete(report))}**", "", "| | object | account | what could not be read | "
                  "AWS's answer |", "|---|---|---|---|---|"]
        lines += [f"| :question: | {_code(u.object) if u.object else 'the plan'} | {markdown_text(u.account)} | "
                  f"{markdown_text(u.what)} | {markdown_text(u.error)} |" for u in report.unread]
        lines.append("")
    lines += [_summary(report), ""]
    if not report.empty:
        lines += ["| | object | what happens in AWS | policies |", "|---|---|---|---|"]
        icons = {"+": ":heavy_plus_sign:", "~": ":pencil2:", "-": ":heavy_minus_sign:", "=": ":eyes:",
                 "!": ":no_entry:"}
        for change in [*report.changes, *report.problems]:
            lines.append(f"| {icons[change.symbol]} | {_code(f'{change.kind}/{change.name}')} | "
                         f"{markdown_text(change.text)} | {markdown_text(change.policy)} |")
        for change in report.changes:
            if change.detail:
                detail = "\n".join(plain(line) for line in change.detail.splitlines())
                fence = _fence(detail)
                lines += ["", f"<details><summary><code>{_html(f'{change.kind}/{change.name}')}</code>: the "
                          "document</summary>", "", f"{fence}diff", detail, fence, "", "</details>"]
    lines += [f"\n> **Note:** {markdown_text(note)}" for note in report.notes]
    return "\n".join(lines) + "\n"


def format_invalid_markdown(findings: Sequence[Any]) -> str:
    """The comment for files ``awsorg validate`` refuses (``findings``: its findings): nothing is planned, and each
    finding has its row, escaped as every string of the plan is."""
    errors = [f for f in findings if f.severity == "error"]
    lines = ["### awsorg plan", "", f"The files are invalid ({len(errors)} error{'s' if len(errors) != 1 else ''}): "
             "nothing was planned. `awsorg validate` says:", "",
             "| | where | object | field | what is wrong; what is allowed |", "|---|---|---|---|---|"]
    for f in findings:
        icon = ":no_entry:" if f.severity == "error" else ":warning:"
        lines.append(f"| {icon} | {markdown_text(f'{f.file}:{f.line}')} | {markdown_text(f.object)} | "
                     f"{markdown_text(f.field)} | {markdown_text(f.message)} |")
    return "\n".join(lines) + "\n"


def format_json(report: PlanReport) -> str:
    return json.dumps({
        "changes": [dataclasses.asdict(c) for c in report.changes],
        "refused": [dataclasses.asdict(c) for c in report.problems],
        "unchanged": report.unchanged,
        "incomplete": report.incomplete,
        "unread": [dataclasses.asdict(u) for u in report.unread],
        "notes": report.notes,
    }, indent=2) + "\n"


FORMATS = {"text": format_text, "markdown": format_markdown, "json": format_json}


def plan_paths(paths: Sequence[Path], client: Any, base: Sequence[Path] | None = None,
               cluster: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
               members: Members | None = None, trails: Trails | None = None,
               policy: OperatorPolicy | None = None, iam: Iam | None = None) -> PlanReport:
    return plan_objects(load(paths), client, load(base) if base is not None else None, cluster, members, trails,
                        policy, iam)


PLAN_MEMBER_ROLE = "AWSORG_PLAN_MEMBER_ROLE_NAME"


def plan_member_role_name(default: str) -> str:
    """The role ``awsorg plan`` assumes in member accounts: ``AWSORG_PLAN_MEMBER_ROLE_NAME`` (a read-only role, its
    policy deploy/plan-member-policy.json: a plan only reads there), else the operator's (``default``)."""
    from controller.api import limits
    from controller.settings import SettingsError

    raw = os.environ.get(PLAN_MEMBER_ROLE, "").strip()
    if not raw:
        return default
    if not re.fullmatch(limits.ROLE_NAME_PATTERN, raw):
        raise SettingsError(f"{PLAN_MEMBER_ROLE}={raw!r}: expected an IAM role name ({limits.NAME_CHARACTERS}, at "
                            f"most {limits.ROLE_NAME_MAX})")
    return raw


def plan_command(paths: Sequence[Path], base: Sequence[Path] | None, output: str, factory: Factory,
                 cluster: Mapping[str, Sequence[Mapping[str, Any]]] | None = None, notes: Sequence[str] = (),
                 policy: OperatorPolicy | None = None) -> int:
    """``awsorg plan``: validate offline first (a plan of invalid YAML means nothing), then plan read-only.

    Exit codes: :mod:`controller.workflow.exits` (``REFUSED``: some changes would be refused, invalid files
    included; ``FAILED``: reading AWS failed). Only List/Describe calls are made (the operator's credentials and
    AWS_ENDPOINT_URL, from ``factory``), and for an Organization's accessRole and centralLogging the reads of each
    member account's role, bucket and AWS Config (AssumeRole, then List/Describe/Get) and of the trail, counted in
    a note.
    """
    import sys

    from controller.aws.errors import AwsError
    from controller.settings import SettingsError
    from controller.workflow.validate import format_text as format_findings
    from controller.workflow.validate import validate_paths

    policy = policy if policy is not None else factory.settings.policy.current()  # --policy, else the operator's
    report = validate_paths(paths, policy=policy)
    if report.errors:
        sys.stderr.write("awsorg plan: the files are invalid; `awsorg validate` says:\n" + format_findings(report))
        if output == "markdown":  # the comment says why there is no plan, finding by finding
            sys.stdout.write(format_invalid_markdown(report.findings))
        return exits.REFUSED
    if (problem := factory.credentials_problem()) is not None:
        print(f"awsorg plan: {problem}", file=sys.stderr)
        if output == "markdown":  # the comment says why there is no plan
            sys.stdout.write(f"### awsorg plan\n\nNo plan: {markdown_text(problem)}.\n")
        return exits.FAILED
    try:
        member_role = plan_member_role_name(factory.settings.member_role_name)
    except SettingsError as exc:
        print(f"awsorg plan: {exc}", file=sys.stderr)
        return exits.FAILED
    try:
        result = plan_paths(paths, factory.create_organizations_client(), base, cluster,
                            lambda: factory.create_recording_members(member_role), factory.create_trail_client,
                            policy, factory.create_management_iam_client)
    except AwsError as exc:
        print(f"awsorg plan: reading the organization failed: {exc}", file=sys.stderr)
        return exits.FAILED
    warned = [f"validate warns: {f.object} {f.field}: {f.message}" for f in report.findings if f.severity != "error"]
    result.notes[:0] = [*notes, *warned]  # where the base came from, first; then validate's warnings (SCPs...)
    sys.stdout.write(FORMATS[output](result))
    return result.exit_code
