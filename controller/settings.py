"""Operator settings, from the environment (names per SPEC.md, plus a few of our own, all AWSORG_*)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Literal

from controller.api import limits
from controller.api.guardrails import PolicyFile, PolicyFileError

POLICY_SETTING = "AWSORG_POLICY_FILE"


class SettingsError(ValueError):
    pass


def _float(name: str, default: float, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a number of seconds") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number of seconds") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def _count(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a whole number from {minimum} to {maximum}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name}={raw!r}: must be from {minimum} to {maximum}")
    return value


def _role_name(name: str, default: str) -> str:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(limits.ROLE_NAME_PATTERN, raw):
        raise SettingsError(f"{name}={raw!r}: expected an IAM role name ({limits.NAME_CHARACTERS}, at most "
                            f"{limits.ROLE_NAME_MAX})")
    return raw


def limits_from(text: str | None, source: str = limits.LIMITS_SETTING) -> limits.Limits:
    """``scps-per-target=11,scp-characters=20480``: the figures given, AWS's current quotas for the others."""
    try:
        return limits.Limits.parse(text)
    except ValueError as exc:
        raise SettingsError(f"{source}: {exc}") from None


def policy_from(path: str | None, source: str = POLICY_SETTING) -> PolicyFile:
    """The administrator's policy in the file at ``path`` (None: the defaults), or SettingsError naming the
    setting, the file, the field and what is allowed."""
    try:
        return PolicyFile(path)
    except PolicyFileError as exc:
        raise SettingsError(f"{source}: {exc}; the file is the administrator's policy (docs/operating.md, \"The "
                            "administrator's policy\")") from None


@dataclass(frozen=True)
class Settings:
    resync_seconds: float = 300.0
    drift_policy: Literal["correct", "report"] = "correct"
    metrics_port: int = 8000
    assume_role_arn: str | None = None
    # How long an object waiting for a reference waits before looking again.
    wait_seconds: float = 10.0
    # Backoff for failed reconciles: base * 2**retry, capped.
    backoff_base_seconds: float = 5.0
    backoff_max_seconds: float = 300.0
    # kopf peering (HA): how long a replica's keep-alive counts; a standby takes over this long after the
    # active replica dies. kopf keeps alive 5-10 s before expiry (every second below ~11 s); kopf's default.
    peering_lifetime_seconds: int = 60
    # An SQS queue that an EventBridge rule fills with AWS Organizations' CloudTrail events: drift in seconds.
    events_queue_url: str | None = None
    # The role the operator assumes in every member account (the one AWS Organizations creates there).
    member_role_name: str = "OrganizationAccountAccessRole"
    # How long an action AWS refuses because the operator's own IAM or S3 policy write is not seen yet keeps waiting
    # (WaitingForPropagation) before the refusal is an error: controller.reconciler.propagation.
    propagation_seconds: float = 120.0
    # AWS's quotas that an organization can have raised or that AWS changes (AWSORG_LIMITS, `--limits`):
    # AWS's current figures unless set; validate and plan read the same (controller.api.limits.Limits).
    aws_limits: limits.Limits = field(default_factory=limits.Limits)
    # Member accounts read at once (the Organization's baseline; its writes go one after the other), 1-64. Each account
    # has IAM and Config quotas of its own; only AssumeRole is the management account's (paced by sts_rate).
    member_concurrency: int = 16
    # AssumeRole calls a second at most (the management account's STS quota, shared with everything else there).
    sts_rate: float = 20.0
    # The administrator's policy (AWSORG_POLICY_FILE; controller.api.guardrails): what objects may ask. Read at
    # start (an invalid file is a SettingsError: the operator does not start), then looked at again as it changes.
    policy_file: str | None = None
    policy: PolicyFile = field(default_factory=PolicyFile, compare=False)

    @classmethod
    def from_env(cls) -> Settings:
        policy = os.environ.get("AWSORG_DRIFT_POLICY", "correct").strip().lower() or "correct"
        if policy not in ("correct", "report"):
            raise SettingsError(f"AWSORG_DRIFT_POLICY={policy!r}: expected 'correct' or 'report'")
        port_raw = os.environ.get("AWSORG_METRICS_PORT", "8000")
        try:
            port = int(port_raw)
        except ValueError:
            raise SettingsError(f"AWSORG_METRICS_PORT={port_raw!r}: expected a port number") from None
        if not 0 <= port <= 65535:
            raise SettingsError(f"AWSORG_METRICS_PORT={port_raw!r}: expected 0-65535 (0 disables metrics)")
        return cls(
            resync_seconds=_float("AWSORG_RESYNC_SECONDS", 300.0, minimum=1.0),
            drift_policy="report" if policy == "report" else "correct",
            metrics_port=port,
            assume_role_arn=os.environ.get("AWSORG_ASSUME_ROLE_ARN") or None,
            wait_seconds=_float("AWSORG_WAIT_SECONDS", 10.0, minimum=0.1),
            backoff_base_seconds=_float("AWSORG_BACKOFF_BASE_SECONDS", 5.0, minimum=0.1),
            backoff_max_seconds=_float("AWSORG_BACKOFF_MAX_SECONDS", 300.0, minimum=1.0),
            peering_lifetime_seconds=_int("AWSORG_PEERING_LIFETIME_SECONDS", 60, minimum=2),
            events_queue_url=os.environ.get("AWSORG_EVENTS_QUEUE_URL") or None,
            member_role_name=_role_name("AWSORG_MEMBER_ROLE_NAME", "OrganizationAccountAccessRole"),
            propagation_seconds=_float("AWSORG_PROPAGATION_SECONDS", 120.0, minimum=0.0),
            aws_limits=limits_from(os.environ.get(limits.LIMITS_SETTING)),
            member_concurrency=_count("AWSORG_MEMBER_CONCURRENCY", 16, 1, 64),
            sts_rate=_float("AWSORG_STS_RATE", 20.0, minimum=0.1),
            policy_file=os.environ.get(POLICY_SETTING, "").strip() or None,
            policy=policy_from(os.environ.get(POLICY_SETTING, "").strip() or None),
        )

    def backoff(self, retry: int) -> float:
        return float(min(self.backoff_max_seconds, self.backoff_base_seconds * (2 ** min(retry, 16))))
