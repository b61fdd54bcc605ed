"""Organization: the adapter of the reconcile engine for the organization's own settings (one object).

What lives in AWS Organizations itself is reconciled: all features, policy types, trusted access and
delegated administrators; ``accessRole``, in every ACTIVE member account (created, adopted, or joined
later: every account of the snapshot but the management account), through the role the operator assumes
there; and ``centralLogging``: the log bucket and the organization aggregator in the log archive account (through
the member role), the organization trail (management account), and AWS Config in every member account and region.

Central logging reads, each time the object is compared: the trail (DescribeTrails, GetTrailStatus,
GetEventSelectors: CloudTrail, management account), the bucket (ListBuckets and reads of its policy, encryption,
versioning, Object Lock, public access block and lifecycle; GetKeyPolicy for a KMS key there) and the aggregator
(DescribeConfigurationAggregators) in the log archive account. Each member account's
AWS Config (DescribeConfigurationRecorderStatus and DescribeDeliveryChannels per region, and
DescribeDeliveryChannelStatus where a recorder records: its delivery health) is read on the same
schedule as its access role: after a spec change, when new or not compliant, otherwise once every 10 resyncs.
None of these go to AWS Organizations.

Each member account's role is read (AssumeRole once an hour, GetRole, ListAttachedRolePolicies) when the
spec changed, when the account is new to the operator or not compliant, and otherwise once every 10 resyncs
(the account's turn: its id modulo 10), like tags. Those calls go to STS and IAM, not to AWS Organizations.

The observation reads, each time the object is compared (every resync): the shared snapshot (feature
set, policy types, policies: no extra call), ListAWSServiceAccessForOrganization (one call) and
ListDelegatedAdministrators once per service principal the spec names; ListHandshakesForOrganization
only while the organization lacks all features.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from controller import metrics
from controller.api.models import (
    IAM_PRINCIPAL,
    ORGANIZATION_NAME,
    AccessRole,
    BaselineFailure,
    BaselineStatus,
    DelegatedAdministratorStatus,
    OrganizationSpec,
    OrganizationStatus,
    RootAccessStatus,
    TrailStatus,
)
from controller.aws.errors import AwsError
from controller.aws.gateway import Knowledge
from controller.aws.member import AccountNotAccessible
from controller.planner.access_role import DesiredAccessRole, TrustCondition, Verdict, verdict
from controller.planner.actions import Action, Plan
from controller.planner.central_logging import (
    DesiredLogging,
    ObservedLogging,
    combine,
    config_verdict,
    plan_logging_delete,
    records_management_writes,
)
from controller.planner.claims import policy_type_of_key
from controller.planner.organization import (
    ALL,
    DesiredAdmin,
    DesiredOrganization,
    ObservedOrganization,
    delegation_problem,
    plan_organization,
    plan_organization_delete,
)
from controller.planner.root_access import DesiredRootAccess, with_root_credentials
from controller.planner.scp_effects import with_names
from controller.reconciler.account import BASELINE, ROOT_CREDENTIALS
from controller.reconciler.account import KIND as ACCOUNT_KIND
from controller.reconciler.base import ObjectView
from controller.reconciler.engine import Adapter, Cond, Context, Done, Reference, Report
from controller.reconciler.guard import LOG_ARCHIVE
from controller.reconciler.policy import KIND as POLICY_KIND
from controller.reconciler.policy import MANAGEMENT_KIND
from controller.reconciler.status import binding_of, clipped, first
from controller.state import (
    MemberAccess,
    MemberConfig,
    MemberRootCredentials,
    ObservedHandshake,
    ObservedTrail,
    OrgSnapshot,
)


def _policy_names(ctx: Context) -> dict[str, str]:
    """AWS policy id -> the ServiceControlPolicy object bound to it (from the inventory: no AWS call)."""
    return {pid: name for pid in sorted(ctx.inventory.declared_ids(POLICY_KIND))
            for kind, name in sorted(ctx.inventory.bound_to(frozenset({pid}))) if kind == POLICY_KIND}


def member_accounts(snapshot: OrgSnapshot) -> list[str]:
    """The accounts that get the baseline: every ACTIVE account of the organization but the management account."""
    return sorted(a.id for a in snapshot.accounts.values()
                  if a.state == "ACTIVE" and a.id != snapshot.management_account_id)

def baselined_of(status: Mapping[str, Any]) -> list[str]:
    """status.baseline.baselinedAccounts, read through the typed status model (none when unreadable)."""
    try:
        return BaselineStatus.model_validate(status.get("baseline") or {}).baselined_accounts
    except ValidationError:
        return []


KIND = "Organization"
ROLE_READS = "accessRole"  # the spread reads of each member account (Context.due)
CONFIG_READS = "config"
ROOT_READS = "rootCredentials"
EVENTS_READS = "eventsTrail"  # the management account's trails, when the declared one does not carry the events
EVENTS_REGION = "us-east-1"  # where CloudTrail records AWS Organizations' calls and EventBridge receives them


@dataclass(frozen=True)
class EventsSource:
    """With AWSORG_EVENTS_QUEUE_URL: the trail that records AWS Organizations' calls, so that EventBridge receives
    them (None: none does), and why each other trail seen does not."""

    trail: str | None
    others: tuple[str, ...] = ()


def events_source(trails: Sequence[ObservedTrail]) -> EventsSource:
    """Which of the trails covering us-east-1 records Organizations' write calls (pure)."""
    carrying = [t.name for t in trails if records_management_writes(t)]
    return EventsSource(carrying[0] if carrying else None, tuple(
        f"{t.name}: {'selects no management write events' if t.logging else 'not logging'}"
        for t in trails if t.name not in carrying))


@dataclass(frozen=True)
class ObservedOrganizationState:
    """The planner's observation, and the member accounts that have had their baseline as the status last written
    says (the operator's memory across restarts: the access role gone from one of them is drift, not new work)."""

    org: ObservedOrganization
    baselined: frozenset[str] = frozenset()
    #: the declared ServiceControlPolicy objects by AWS id, to name the one a BlockedByPolicy verdict quotes
    policy_names: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: with AWSORG_EVENTS_QUEUE_URL, what carries AWS Organizations' events (None: no queue, or not looked at)
    events: EventsSource | None = None


class OrganizationAdapter(Adapter[OrganizationSpec, DesiredOrganization, ObservedOrganizationState]):
    kind = KIND
    noun = "organization"
    model = OrganizationSpec
    default_deletion = "Retain"

    def check(self, name: str, spec: OrganizationSpec, status: Mapping[str, Any]) -> str | None:
        if name != ORGANIZATION_NAME:
            return (f"metadata.name: the Organization is a singleton and must be named {ORGANIZATION_NAME!r}, not "
                    f"{name!r}; this object is not acted on. Put its settings into Organization "
                    f"{ORGANIZATION_NAME!r} and delete this one")
        problems = []
        if spec.feature_set != ALL:
            declared = [f for f, v in (("spec.policyTypes", spec.policy_types), ("spec.trustedServices",
                                       spec.trusted_services), ("spec.delegatedAdministrators",
                                       spec.delegated_administrators)) if v]
            if declared:
                problems.append(f"{', '.join(declared)}: need featureSet ALL (AWS allows them only in an "
                                "organization with all features)")
        trusted = set(spec.trusted_services)
        logging = spec.central_logging
        if logging is not None:
            if spec.feature_set != ALL:
                problems.append("spec.centralLogging: needs featureSet ALL (organization trails and aggregators need "
                                "all features)")
            if logging.cloud_trail.enabled and "cloudtrail.amazonaws.com" not in trusted:
                problems.append("spec.centralLogging.cloudTrail: an organization trail needs trusted access for "
                                "CloudTrail; add 'cloudtrail.amazonaws.com' to spec.trustedServices (or set "
                                "cloudTrail.enabled: false)")
            if logging.config.enabled and "config.amazonaws.com" not in trusted:
                problems.append("spec.centralLogging.config: the organization aggregator needs trusted access for "
                                "Config; add 'config.amazonaws.com' to spec.trustedServices (or set config.enabled: "
                                "false)")
            elif logging.config.enabled and not any(
                    a.service_principal == "config.amazonaws.com" and a.account_ref is not None
                    and a.account_ref.name == logging.account_ref.name for a in spec.delegated_administrators):
                problems.append(f"spec.centralLogging.config: AWS creates an organization aggregator only in the "
                                f"management account or in Config's delegated administrator; add {{accountRef: "
                                f"{{name: {logging.account_ref.name}}}, servicePrincipal: config.amazonaws.com}} to "
                                "spec.delegatedAdministrators")
        root = spec.root_access
        if root is not None and (root.credentials_management is not None or root.root_sessions is not None):
            if spec.feature_set != ALL:
                problems.append("spec.rootAccess: needs featureSet ALL (IAM answers "
                                "OrganizationNotInAllFeaturesModeException otherwise)")
            elif IAM_PRINCIPAL not in trusted:
                problems.append(f"spec.rootAccess: IAM manages root access only with trusted access for IAM; add "
                                f"{IAM_PRINCIPAL!r} to spec.trustedServices")
        for i, admin in enumerate(spec.delegated_administrators):
            unsupported = delegation_problem(admin.service_principal)
            if unsupported is not None:
                problems.append(f"spec.delegatedAdministrators[{i}].servicePrincipal: {unsupported}")
            elif admin.service_principal not in trusted:
                problems.append(f"spec.delegatedAdministrators[{i}].servicePrincipal: {admin.service_principal!r} "
                                "is not in spec.trustedServices; AWS registers a delegated administrator only for "
                                "a service with trusted access, so add it there")
        return f"{KIND} {name!r} is invalid: " + "; ".join(problems) if problems else None

    def conditions(self, spec: OrganizationSpec) -> Sequence[Cond]:
        if spec.access_role is None and spec.central_logging is None:
            return [("Baseline", True, "NothingDeclared", "neither centralLogging nor accessRole is declared")]
        return ()  # from what the accounts hold: observed_conditions

    def references(self, spec: OrganizationSpec) -> Sequence[Reference]:
        refs = [Reference("AwsAccount", a.account_ref.name, f"spec.delegatedAdministrators[{i}].accountRef")
                for i, a in enumerate(spec.delegated_administrators) if a.account_ref is not None]
        if spec.central_logging is not None:
            refs.append(Reference("AwsAccount", spec.central_logging.account_ref.name,
                                  "spec.centralLogging.accountRef"))
        return refs

    def desired(self, name: str, spec: OrganizationSpec, resolved: Mapping[Reference, str]) -> DesiredOrganization:
        by_field = {ref.field: account_id for ref, account_id in resolved.items()}
        admins = []
        for i, admin in enumerate(spec.delegated_administrators):
            ref_field = f"spec.delegatedAdministrators[{i}].accountRef"
            account_id = by_field.get(ref_field) if admin.account_ref is not None else admin.account_id
            label = (f"{ref_field} (AwsAccount {admin.account_ref.name!r})" if admin.account_ref is not None
                     else f"spec.delegatedAdministrators[{i}].accountId")
            admins.append(DesiredAdmin(account_id or "", admin.service_principal, label))
        return DesiredOrganization(
            object_name=name, feature_set=spec.feature_set,
            policy_types=frozenset(spec.policy_types) if spec.policy_types is not None else None,
            trusted_services=tuple(spec.trusted_services), admins=tuple(admins),
            observe_only=spec.management_policy == "Observe",
            access_role=_desired_access_role(spec.access_role) if spec.access_role is not None else None,
            logging=_desired_logging(spec, by_field.get("spec.centralLogging.accountRef", "")),
            root_access=DesiredRootAccess(spec.root_access.credentials_management, spec.root_access.root_sessions)
            if spec.root_access is not None else None,
        )

    def observe(self, ctx: Context, desired: DesiredOrganization, view: ObjectView) -> ObservedOrganizationState:
        snapshot = ctx.snapshot()
        needed = frozenset(policy_type_of_key(k) for kind in (POLICY_KIND, MANAGEMENT_KIND)
                           for k in ctx.refs.claim_keys(kind)) if ctx.refs else frozenset()
        # The accounts that have had their baseline, as the status this process (or the one before) wrote says.
        baselined = frozenset(baselined_of(view.status))
        if snapshot.feature_set != ALL:
            handshakes: tuple[ObservedHandshake, ...] = ()
            if desired.feature_set == ALL:
                handshakes = tuple(h for action in ("ENABLE_ALL_FEATURES", "APPROVE_ALL_FEATURES")
                                   for h in ctx.gateway.list_handshakes(action))
            org = self._with_access(ctx, desired, view, baselined,
                                    ObservedOrganization(snapshot, handshakes, None, None, needed))
            return ObservedOrganizationState(org, baselined, _policy_names(ctx), self._observe_events(ctx, desired,
                                                                                                    view, None))
        trusted = ctx.gateway.list_trusted_services()
        admins = {p: ctx.gateway.list_delegated_administrators(p) for p in desired.admin_principals}
        org = self._with_access(ctx, desired, view, baselined,
                                ObservedOrganization(snapshot, (), trusted, admins, needed))
        org = dataclasses.replace(org, logging=self._observe_logging(ctx, desired, view, snapshot))
        if desired.root_access is not None:
            org = self._observe_root_access(ctx, view, org)
        return ObservedOrganizationState(org, baselined, _policy_names(ctx),
                                         self._observe_events(ctx, desired, view, org.logging))

    def _observe_events(self, ctx: Context, desired: DesiredOrganization, view: ObjectView,
                        logging: ObservedLogging | None) -> EventsSource | None:
        """With AWSORG_EVENTS_QUEUE_URL: the declared trail when it records Organizations' calls (read anyway: no
        call); otherwise the management account's trails covering us-east-1, read while none does and once every
        10 resyncs while another one does (DescribeTrails, then GetTrailStatus and GetEventSelectors per trail)."""
        logs, want = ctx.gateway.central_logging, desired.logging
        if not ctx.settings.events_queue_url or logs is None:
            return None
        declared = logging.trail if logging is not None else None
        if declared is not None and want is not None and (declared.multi_region or want.home_region ==
                                                          EVENTS_REGION) and records_management_writes(declared):
            return EventsSource(declared.name)
        known = logs.known_event_trails()
        found = events_source(known) if known is not None else None
        if found is None or ctx.due(EVENTS_READS, view.name, view, settled=found.trail is not None):
            found = events_source(logs.read_event_trails(EVENTS_REGION))
        return found

    def _observe_root_access(self, ctx: Context, view: ObjectView, org: ObservedOrganization) -> ObservedOrganization:
        """IAM's root access features (one call, only with trusted access for IAM: none without it), and each member
        account's root user (GetAccountSummary through the member role, on the spread schedule: at once for an
        account not read yet or not reachable, otherwise once every 10 resyncs)."""
        features: frozenset[str] | None = None
        if ctx.gateway.reads_root_access:
            features = (ctx.gateway.list_root_access_features() if IAM_PRINCIPAL in (org.trusted or frozenset())
                        else frozenset())
        members = ctx.gateway.members
        if members is None:
            return dataclasses.replace(org, root_features=features)
        found: dict[str, MemberRootCredentials | None] = {}
        due_ids: list[str] = []
        for account_id in member_accounts(org.snapshot):
            known = members.known_root(account_id)
            if ctx.due(ROOT_READS, account_id, view, settled=known is not None and known.error is None):
                due_ids.append(account_id)
            found[account_id] = known
        found.update(members.read_root_credentials(due_ids))  # many accounts at once (controller.aws.fanout)
        return dataclasses.replace(org, root_features=features, root_credentials=found)

    def _observe_logging(self, ctx: Context, desired: DesiredOrganization, view: ObjectView,
                         snapshot: OrgSnapshot) -> ObservedLogging | None:
        logs, want = ctx.gateway.central_logging, desired.logging
        if logs is None or want is None or not want.account_id:
            return None
        base = ObservedLogging(snapshot.organization_id, snapshot.management_account_id)
        trail = logs.read_trail(want.home_region, want.trail) if want.trail is not None else None
        try:
            bucket = logs.read_bucket(want.account_id, want.home_region, want.bucket)
            aggregator = (logs.read_aggregator(want.account_id, want.home_region, want.aggregator)
                          if want.config_enabled else None)
        except AccountNotAccessible as exc:
            return dataclasses.replace(base, trail=trail, archive_waiting=True, archive_error=(
                f"AssumeRole into the log archive account {want.account_id} was refused ({exc.code}: "
                f"{exc.aws_message}); AWS makes a new account's role assumable a while after CreateAccount: looked "
                "at again every resync"))
        except AwsError as exc:
            return dataclasses.replace(base, trail=trail, archive_error=(
                f"the log archive account {want.account_id}: {exc.operation}: {exc.code}: {exc.aws_message}"))
        config: dict[str, MemberConfig | None] = {}
        compliant: set[str] = set()
        if want.config_enabled:
            due_ids: list[str] = []
            for account_id in member_accounts(snapshot):
                known = logs.known_config(account_id)
                if known is not None and config_verdict(want, account_id, known).state == "compliant":
                    compliant.add(account_id)
                if ctx.due(CONFIG_READS, account_id, view, settled=account_id in compliant):
                    due_ids.append(account_id)
                config[account_id] = known
            config.update(logs.read_configs(due_ids, want.regions))  # many accounts at once (controller.aws.fanout)
        return dataclasses.replace(base, bucket=bucket, trail=trail, aggregator_arn=aggregator, config=config,
                                   compliant_before=frozenset(compliant))

    def _with_access(self, ctx: Context, desired: DesiredOrganization, view: ObjectView, baselined: frozenset[str],
                     observed: ObservedOrganization) -> ObservedOrganization:
        members = ctx.gateway.members
        role = desired.access_role
        if role is None or members is None:
            return observed
        access: dict[str, MemberAccess | None] = {}
        due_ids: list[str] = []
        for account_id in member_accounts(observed.snapshot):
            known = members.known(account_id)
            settled = known is not None and verdict(role, account_id, known).state == "compliant"
            # the operator's own role is refused by the plan; never read or touched
            if role.role_name != members.role_name and ctx.due(ROLE_READS, account_id, view, settled=settled):
                due_ids.append(account_id)
            access[account_id] = known
        access.update(members.read_roles(due_ids, role.role_name))  # many accounts at once (controller.aws.fanout)
        # A role gone from an account that has had its baseline is drift; from any other account, new work.
        return dataclasses.replace(observed, access=access, member_role=members.role_name,
                                   compliant_before=baselined)

    def plan(self, desired: DesiredOrganization, observed: ObservedOrganizationState) -> Plan:
        return plan_organization(desired, observed.org)

    def after(self, desired: DesiredOrganization, observed: ObservedOrganizationState, done: Done,
              known: Knowledge) -> ObservedOrganizationState:
        """What the organization holds after the actions, from ``known`` (what each write's method left):
        trusted access, the delegated administrators, each member account's role and AWS Config, the trail and the
        aggregator. Why the log archive account could not be read stays as observed."""
        snapshot, role, want = known.snapshot, desired.access_role, desired.logging
        org = dataclasses.replace(observed.org, snapshot=snapshot, trusted=known.trusted, admins={
            p: found for p in desired.admin_principals if (found := known.admins.get(p)) is not None})
        accounts = member_accounts(snapshot)
        if role is not None and known.member_role is not None:
            org = dataclasses.replace(org, access={a: known.access.get(a) for a in accounts},
                                      member_role=known.member_role)
        else:
            org = dataclasses.replace(org, access=None)
        if known.logging and want is not None:
            before = observed.org.logging or ObservedLogging(snapshot.organization_id, snapshot.management_account_id)
            org = dataclasses.replace(org, logging=dataclasses.replace(
                before, trail=known.trails.get((want.home_region, want.trail)) if want.trail is not None else None,
                aggregator_arn=known.aggregators.get((want.account_id, want.home_region, want.aggregator))
                if want.config_enabled else None,
                config={a: known.config.get(a) for a in accounts} if want.config_enabled else {}))
        else:
            org = dataclasses.replace(org, logging=None)
        if desired.root_access is not None:
            org = dataclasses.replace(org, root_features=known.root_features if observed.org.root_features is not None
                                      else None, root_credentials={a: known.root_credentials.get(a) for a in accounts}
                                      if observed.org.root_credentials is not None else None)
        events = observed.events
        trail = known.trails.get((want.home_region, want.trail)) if want is not None and want.trail else None
        if events is not None and events.trail is None and trail is not None and records_management_writes(trail):
            events = EventsSource(trail.name)  # the operator started the declared trail
        return dataclasses.replace(observed, org=org, events=events)

    def report(self, desired: DesiredOrganization, observed: ObservedOrganizationState, done: Done) -> Report:
        org, want = observed.org, desired.logging
        snapshot, logging = org.snapshot, org.logging
        status = OrganizationStatus(id=snapshot.organization_id, feature_set=snapshot.feature_set,
                                    enabled_policy_types=sorted(snapshot.enabled_policy_types))
        if snapshot.organization_arn:
            status.arn = snapshot.organization_arn
        if snapshot.feature_set == ALL:
            status.all_features_handshake_id = None
        if org.trusted is not None:
            status.trusted_services = sorted(org.trusted)
            status.trusted_services_outside_git = sorted(org.trusted - set(desired.trusted_services))
        verdicts = self._verdicts(desired, observed)
        status.baseline = self._baseline(verdicts, observed.baselined)
        series: dict[tuple[str, ...], float] = {}
        delivery: dict[tuple[str, ...], float] = {}
        if logging is not None and want is not None:
            if want.trail is not None:
                trail = logging.trail
                failing = trail is not None and trail.logging and trail.delivery_error is not None
                status.trail = TrailStatus(arn=trail.arn if trail else None, is_logging=bool(trail and trail.logging),
                                           latest_delivery_error=trail.delivery_error if failing and trail else None,
                                           latest_delivery_time=trail.delivered_at if failing and trail else None)
                series[(want.trail,)] = 1 if trail and trail.logging else 0
                delivery[("cloudtrail",)] = 1 if failing else 0
            if want.config_enabled:
                delivery[("config",)] = sum(
                    1 for account_id in member_accounts(snapshot) if (found := logging.config.get(account_id))
                    is not None and found.error is None for region in want.regions
                    if (rec := found.regions.get(region)) is not None and rec.failure)
            if want.config_enabled:
                status.aggregator_arn = logging.aggregator_arn
        status.delegated_administrators = [
            DelegatedAdministratorStatus(account_id=account_id, service_principal=principal)
            for principal in desired.admin_principals
            for account_id in sorted((org.admins or {}).get(principal) or ())
        ]
        root: dict[str, str] = {}
        if desired.root_access is not None:
            status.root_access, root = _root_access_status(org)
        conditions = self._conditions(desired, observed, verdicts)
        events = observed.events
        if events is not None:
            conditions.append(_events_condition(events))
        return Report(status, conditions, stale=["DriftEvents"] if events is None else [],
                      publish={BASELINE: (ACCOUNT_KIND, verdicts or {}),
                               ROOT_CREDENTIALS: (ACCOUNT_KIND, root),  # and the log archive, for the policy
                               LOG_ARCHIVE: (ACCOUNT_KIND, {want.account_id: True} if want and want.account_id
                                             else {})},
                      gauges=[(metrics.TRAIL_LOGGING, series),  # one Organization: its trail's series, or none
                              (metrics.DELIVERY_FAILING, delivery),
                              (metrics.EVENTS_TRAIL_LOGGING, {(EVENTS_REGION,): 1 if events.trail else 0}
                               if events is not None else {})])

    def _verdicts(self, desired: DesiredOrganization,
                  observed: ObservedOrganizationState) -> dict[str, Verdict] | None:
        """Each member account's baseline: its access role and its AWS Config, whichever are declared (and
        reachable); None: neither is."""
        org = observed.org
        role = desired.access_role
        if role is not None and (org.access is None or role.role_name == org.member_role):
            role = None
        want = desired.logging if desired.logging is not None and desired.logging.config_enabled else None
        if want is not None and org.logging is None:
            want = None
        if role is None and want is None:
            return None
        found: dict[str, Verdict] = {}
        for account_id in member_accounts(org.snapshot):
            access = verdict(role, account_id, (org.access or {}).get(account_id)) if role is not None else None
            config = (config_verdict(want, account_id, org.logging.config.get(account_id))
                      if want is not None and org.logging is not None else None)
            both = combine(access, config)
            if both is not None and both.reason == "BlockedByPolicy":  # the policy's object by name, if one is
                both = dataclasses.replace(both, message=with_names(both.message, observed.policy_names.get))
            if both is not None:
                found[account_id] = both
        return found

    @staticmethod
    def _baseline(verdicts: Mapping[str, Verdict] | None, before: frozenset[str]) -> BaselineStatus | None:
        """status.baseline: the counts, and the accounts that have had their baseline (kept while they have a
        verdict)."""
        if verdicts is None:
            return None
        return baseline_status(verdicts, before)

    def _conditions(self, desired: DesiredOrganization, observed: ObservedOrganizationState,
                    verdicts: Mapping[str, Verdict] | None) -> list[Cond]:
        problems = self._logging_problems(desired, observed.org.logging)
        if verdicts is None and not problems and desired.logging is None:
            return []  # NothingDeclared: from the spec alone
        found = list((verdicts or {}).values())
        failed = [v for v in found if v.state == "failed"]
        pending = [v for v in found if v.state == "pending"]
        if problems:
            return [("Baseline", False, problems[0][0], "; ".join(m for _, m in problems))]
        what = " and ".join(w for w, on in (("the access role", desired.access_role is not None),
                                             ("central logging", desired.logging is not None)) if on)
        if not failed and not pending:
            return [("Baseline", True, "Compliant", f"{what} as declared in all {len(found)} member accounts")]
        shown = "; ".join(f"{v.account_id}: {v.reason}" + (f" ({v.message.split('; ', 1)[0]})" if v.reason in
                                                             ("BlockedByPolicy", "ConfigDeliveryFailing") else "")
                          for v in (failed + pending)[:5])
        reason = "BaselineFailed" if failed else "WaitingForAccountAccess"
        for cause in ("BlockedByPolicy",  # an SCP/RCP denies the operator's calls: changing the policy is the cure
                      "ConfigDeliveryFailing"):  # Config records but cannot write into the bucket: its policy is
            if failed and all(v.reason == cause for v in failed):
                reason = cause
        return [("Baseline", False, reason, f"{len(found) - len(failed) - len(pending)} of {len(found)} member "
                 f"accounts compliant, {len(pending)} pending, {len(failed)} failed ({shown}"
                 f"{' ...' if len(failed) + len(pending) > 5 else ''}); see status.baseline")]

    @staticmethod
    def _logging_problems(desired: DesiredOrganization, logging: ObservedLogging | None) -> list[tuple[str, str]]:
        """What keeps the organization-wide part of central logging from being as declared (reason, message)."""
        want = desired.logging
        if logging is None or want is None:
            return []
        problems: list[tuple[str, str]] = []
        if logging.archive_error is not None:
            problems.append(("WaitingForAccountAccess" if logging.archive_waiting else "BaselineFailed",
                             logging.archive_error))
        if want.trail is not None:
            if logging.trail is None:
                problems.append(("TrailMissing", f"the organization trail {want.trail!r} does not exist"))
            elif not logging.trail.logging:
                problems.append(("TrailNotLogging", f"the organization trail {want.trail!r} is not logging"))
            elif logging.trail.delivery_error is not None:
                trail = logging.trail
                problems.append(("TrailDeliveryFailing", (
                    f"the organization trail {want.trail!r} (management account {logging.management_id}, region "
                    f"{want.home_region}) logs but cannot deliver its log files into bucket {trail.bucket}: "
                    f"LatestDeliveryError {trail.delivery_error}, last delivered {trail.delivered_at or 'never'}; "
                    "nothing reaches the bucket until its policy (or KMS key) lets cloudtrail.amazonaws.com write "
                    "(docs/operating.md, \"Evidence that is not delivered\")")))
        if want.config_enabled and logging.aggregator_arn is None:
            problems.append(("AggregatorMissing", f"the organization aggregator {want.aggregator!r} does not exist "
                             f"in the log archive account {want.account_id}"))
        return problems

    def adopted(self, desired: DesiredOrganization, resource_id: str) -> str:
        return f"bound to organization {resource_id}"

    def plan_delete(self, ctx: Context, spec: OrganizationSpec | None, resolved: Mapping[Reference, str],
                    view: ObjectView, retain: bool) -> Plan:
        if retain or spec is None or view.name != ORGANIZATION_NAME or not (
                spec.delegated_administrators or spec.central_logging):
            return Plan(resource_id=binding_of(view.status).id)
        full = self.desired(view.name, spec, resolved)
        desired = DesiredOrganization(full.object_name, admins=tuple(a for a in full.admins if a.account_id))
        snapshot = ctx.snapshot()
        admins = {p: ctx.gateway.list_delegated_administrators(p) for p in desired.admin_principals}
        plan = plan_organization_delete(desired, ObservedOrganization(snapshot, admins=admins), retain=False)
        logging = self._delete_logging(ctx, full, snapshot)
        # Reverse order: the aggregator, recorders and trail go before Config's delegated administrator.
        return dataclasses.replace(plan, actions=logging + plan.actions)

    def _delete_logging(self, ctx: Context, desired: DesiredOrganization, snapshot: OrgSnapshot) -> tuple[Action, ...]:
        logs, want = ctx.gateway.central_logging, desired.logging
        if logs is None or want is None or not want.account_id:
            return ()
        observed = ObservedLogging(snapshot.organization_id, snapshot.management_account_id)
        trail = logs.read_trail(want.home_region, want.trail) if want.trail is not None else None
        aggregator = None
        try:
            if want.config_enabled:
                aggregator = logs.read_aggregator(want.account_id, want.home_region, want.aggregator)
        except AccountNotAccessible:
            pass  # the log archive account is out of reach: its aggregator stays
        config = dict(logs.read_configs(member_accounts(snapshot), want.regions)) if want.config_enabled else {}
        return plan_logging_delete(want, dataclasses.replace(observed, trail=trail, aggregator_arn=aggregator,
                                                             config=config))


def _events_condition(events: EventsSource) -> Cond:
    """DriftEvents: whether the events of AWSORG_EVENTS_QUEUE_URL can arrive at all."""
    if events.trail is not None:
        return ("DriftEvents", True, "TrailLogging", f"the trail {events.trail!r} records AWS Organizations' calls in "
                f"{EVENTS_REGION}: EventBridge delivers them to AWSORG_EVENTS_QUEUE_URL")
    seen = "; ".join(events.others) or "the management account has none covering it"
    return ("DriftEvents", False, "NoTrailForEvents", (
        f"AWSORG_EVENTS_QUEUE_URL is set, but no trail of the management account logs AWS Organizations' management "
        f"write events in {EVENTS_REGION} ({seen}); EventBridge receives \"AWS API Call via CloudTrail\" events only "
        "from such a trail, so no event arrives and a change made outside Git is found only by the resync "
        "(AWSORG_RESYNC_SECONDS). Start the trail, or declare spec.centralLogging.cloudTrail"))


def baseline_status(verdicts: Mapping[str, Verdict], before: frozenset[str]) -> BaselineStatus:
    """status.baseline: the counts, the first failed accounts (``failedCount`` says how many), and the accounts that
    have had their baseline (kept while they have a verdict: the operator's memory across restarts; 5,000 account
    ids are about 80 kB, kept whole)."""
    found = list(verdicts.values())
    failed = [v for v in found if v.state == "failed"]
    baselined = {a for a in before if a in verdicts} | {a for a, v in verdicts.items() if v.state == "compliant"}
    return BaselineStatus(accounts=len(found), compliant=sum(v.state == "compliant" for v in found),
                          pending=sum(v.state == "pending" for v in found), failed_count=len(failed),
                          failed=[BaselineFailure(account=v.account_id, reason=clipped(f"{v.reason}: {v.message}"))
                                  for v in first(failed)],
                          baselined_accounts=sorted(baselined))


def _root_access_status(org: ObservedOrganization) -> tuple[RootAccessStatus, dict[str, str]]:
    """status.rootAccess, and each member account's root user as AwsAccount status.rootCredentials shows it."""
    found = org.root_credentials or {}
    shown = {a: text for a, c in found.items() if c is not None and (text := c.shown) is not None}
    holding = with_root_credentials(found)
    return RootAccessStatus(enabled_features=sorted(org.root_features or ()), accounts_checked=len(shown),
                            with_root_credentials=first(holding), with_root_credentials_count=len(holding)), shown


def _desired_access_role(role: AccessRole) -> DesiredAccessRole:
    return DesiredAccessRole(role.role_name, tuple(role.trusted_principals), tuple(role.managed_policy_arns),
                             conditions=tuple(TrustCondition(c.operator, c.key, tuple(c.values))
                                              for c in role.conditions),
                             max_session_duration=role.max_session_duration)


def _desired_logging(spec: OrganizationSpec, account_id: str) -> DesiredLogging | None:
    logging = spec.central_logging
    if logging is None:
        return None
    regions = tuple(dict.fromkeys(logging.config.regions or [logging.home_region])) if logging.config.enabled else ()
    return DesiredLogging(account_id, logging.bucket_name, logging.home_region, logging.retention_days,
                          logging.cloud_trail.trail_name if logging.cloud_trail.enabled else None, regions,
                          logging.config.aggregator_name,
                          (logging.object_lock.mode, logging.object_lock.days) if logging.object_lock else None,
                          logging.kms_key_arn)
