"""Management policy documents (tag, backup, AI services opt-out, ... policies): checked offline, before any AWS
call, by the management policy syntax. Pure.

The syntax (Organizations User Guide, "Inheritance operators", ``policy-operators``, read 2026-12-07): a JSON object
whose keys beginning ``@@`` are the value-setting operators ``@@assign``, ``@@append`` and ``@@remove`` (the last two
"only with multi-valued settings", i.e. lists) and the child control operator
``@@operators_allowed_for_child_policies`` (a list of ``@@all``, ``@@none`` or value-setting operators); tag
policies also take ``@@enforced_for`` (the project's SPEC spelling; the tag policy syntax page writes the key
``enforced_for``). Each problem is ``<path>: <what is wrong>``, e.g.
``spec.document.tags.costcenter.tag_value.@@set: unknown operator; allowed: @@assign, @@append, @@remove,
@@operators_allowed_for_child_policies``. The size is the minified JSON's, against the type's quota
(:data:`controller.api.limits.MAX_DOCUMENT_SIZE`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from controller.api import limits

VALUE_OPERATORS = ("@@assign", "@@append", "@@remove")
LIST_OPERATORS = ("@@append", "@@remove")
CHILD_CONTROL = "@@operators_allowed_for_child_policies"
CHILD_CONTROL_VALUES = ("@@all", "@@none", *VALUE_OPERATORS)
TAG_POLICY = "TAG_POLICY"
TAG_ONLY_OPERATORS = ("@@enforced_for",)


# ------------------------------------------------------------------------------------------- each type's keys
#: Tag policy syntax ("Tag policy syntax and examples", ``orgs_manage_policies_example-tag-policies``, read
#: 2026-12-07): ``{"tags": {<policy key>: {"tag_key": {"@@assign": "CostCenter"}, "tag_value": {"@@assign":
#: [...]}, "enforced_for": {"@@assign": ["redshift:*", "dynamodb:table"]}}}}``; ``enforced_for`` names resource types
#: as ``service:type`` (or ``service:*``, and ``service:ALL_SUPPORTED``); the tag key is a TagKey (at most 128).
TAG_POLICY_TOP = ("tags",)
TAG_KEYS = ("tag_key", "tag_value", "enforced_for", "report_required_tag_for")
RESOURCE_TYPE = re.compile(r"^[a-z0-9-]+:([A-Za-z0-9_.-]+|\*)$")
#: AI services opt-out policy syntax (``orgs_manage_policies_ai-opt-out_syntax``, read 2026-12-07): ``{"services":
#: {"default" | <service>: {"opt_out_policy": {"@@assign": "optOut" | "optIn"}}}}``; "optOut" and "optIn" are
#: case-sensitive ("Note that "optOut" and "optIn" are case-sensitive", ``orgs_manage_policies_ai-opt-out_create``).
#: The services: ``default``, ``rekognition``, ``lex`` and ``comprehend`` are in the syntax page's examples (read
#: 2026-12-07); the others are the policy keys of the user guide's "List of supported AI services"
#: (``orgs_manage_policies_ai-opt-out_all``) as known to the project, NOT VERIFIED against that page (the search
#: tool's copy of it does not reach the list): add one here when AWS adds a service.
AI_SERVICES = frozenset({
    "default", "rekognition", "lex", "comprehend",
    "aidevops", "awssupplychain", "chimesdkvoiceanalytics", "chimesdkvoiceconnector", "cloudwatch",
    "codeguruprofiler", "codewhisperer", "connectamazonq", "connectoptimization", "contactlens", "datazone",
    "frauddetector", "guardduty", "polly", "q", "quicksightq", "securitylake", "textract", "transcribe",
    "translate",
})
AI_OPT_OUT_VALUES = ("optOut", "optIn")
#: Backup policy syntax ("Backup policy syntax and examples", ``orgs_manage_policies_backup_syntax``, read from the
#: project's notes, NOT VERIFIED on 2026-12-07: the search tool's copies do not reach the element list): a plan's
#: elements, a rule's, a lifecycle's; ``regions`` are AWS Region codes.  AWS publishes no JSON schema: these are
#: the elements the page names; anything else is refused as unknown.
BACKUP_TOP = ("plans",)
BACKUP_PLAN_KEYS = ("regions", "rules", "selections", "advanced_backup_settings", "backup_plan_tags")
BACKUP_RULE_KEYS = ("schedule_expression", "schedule_expression_timezone", "start_backup_window_minutes",
                    "complete_backup_window_minutes", "enable_continuous_backup", "target_backup_vault_name",
                    "target_logically_air_gapped_backup_vault_arn", "recovery_point_tags", "lifecycle",
                    "copy_actions", "index_actions")
BACKUP_LIFECYCLE_KEYS = ("delete_after_days", "move_to_cold_storage_after_days",
                         "opt_in_to_archive_for_supported_resources")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
#: The types whose keys are checked; the others' syntax only (AWS publishes no schema the project holds for them).
KEYS_CHECKED = ("TAG_POLICY", "AISERVICES_OPT_OUT_POLICY", "BACKUP_POLICY")


def operators_of(policy_type: str) -> tuple[str, ...]:
    """The ``@@`` keys a document of the type may hold."""
    return (*VALUE_OPERATORS, CHILD_CONTROL, *(TAG_ONLY_OPERATORS if policy_type == TAG_POLICY else ()))


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else type(value).__name__


def validate_management_document(policy_type: str, document: Any, field: str = "spec.document") -> list[str]:
    """Every problem of a management policy document, as ``<path>: <what is wrong>``; [] when valid."""
    problems: list[str] = []
    if not isinstance(document, Mapping):
        return [f"{field}: must be an object, got {_kind(document)}"]
    allowed = operators_of(policy_type)

    def walk(node: Mapping[str, Any], path: str) -> None:
        for key, value in node.items():
            where = f"{path}.{key}"
            if not isinstance(key, str):
                problems.append(f"{where}: keys must be strings")
            elif key.startswith("@@"):
                if key not in allowed:
                    only = " (tag policies only)" if key in TAG_ONLY_OPERATORS else ""
                    problems.append(f"{where}: unknown operator{only}; allowed in a {policy_type}: "
                                    f"{', '.join(allowed)}")
                elif key == CHILD_CONTROL:
                    if not isinstance(value, list) or not value or any(v not in CHILD_CONTROL_VALUES for v in value):
                        problems.append(f"{where}: must be a non-empty list of {', '.join(CHILD_CONTROL_VALUES)}")
                elif key in LIST_OPERATORS and not isinstance(value, list):
                    problems.append(f"{where}: takes a list (AWS: only with multi-valued settings), got "
                                    f"{_kind(value)}")
            elif isinstance(value, Mapping):
                walk(value, where)

    walk(document, field)
    problems += _keys(policy_type, document, field)
    if not problems:
        size = len(json.dumps(document, separators=(",", ":")))
        limit = limits.active().document_size(policy_type)
        if limit is not None and size > limit:
            problems.append(f"{field}: the policy is {size:,} characters as minified JSON; AWS allows at most "
                            f"{limit:,} for a {policy_type} (split it into two policies)")
    return problems


def _settings(node: Mapping[str, Any]) -> dict[str, Any]:
    """A node's keys that are not operators."""
    return {k: v for k, v in node.items() if isinstance(k, str) and not k.startswith("@@")}


def _values(node: Any) -> list[Any]:
    """The values a setting's value-setting operators give (a plain value: itself)."""
    if not isinstance(node, Mapping):
        return node if isinstance(node, list) else [node]
    out: list[Any] = []
    for op in VALUE_OPERATORS:
        if op in node:
            value = node[op]
            out += value if isinstance(value, list) else [value]
    return out


def _unknown(node: Any, allowed: tuple[str, ...], path: str, what: str, out: list[str]) -> dict[str, Any]:
    if not isinstance(node, Mapping):
        out.append(f"{path}: must be an object ({what}), got {_kind(node)}")
        return {}
    settings = _settings(node)
    for key in settings:
        if key not in allowed:
            out.append(f"{path}.{key}: unknown element of {what}; allowed: {', '.join(allowed)}")
    return settings


def _keys(policy_type: str, document: Mapping[str, Any], field: str) -> list[str]:
    out: list[str] = []
    if policy_type == "TAG_POLICY":
        top = _unknown(document, TAG_POLICY_TOP, field, "a tag policy", out)
        tags = top.get("tags")
        for name, tag in _settings(tags if isinstance(tags, Mapping) else {}).items():
            path = f"{field}.tags.{name}"
            elements = _unknown(tag, TAG_KEYS, path, "a tag policy's tag", out)
            for key in _values(elements.get("tag_key", {})):
                if not isinstance(key, str) or not limits.TAG_KEY_MIN <= len(key) <= limits.TAG_KEY_MAX:
                    out.append(f"{path}.tag_key: must be a tag key of {limits.TAG_KEY_MIN} to {limits.TAG_KEY_MAX} "
                               f"characters, got {key!r}")
            for element in ("tag_value",):
                for value in _values(elements.get(element, {})):
                    if not isinstance(value, str) or len(value) > limits.TAG_VALUE_MAX:
                        out.append(f"{path}.{element}: values are strings of at most {limits.TAG_VALUE_MAX} "
                                   f"characters, got {value!r}")
            for element in ("enforced_for", "report_required_tag_for"):
                for value in _values(elements.get(element, {})):
                    if not isinstance(value, str) or not RESOURCE_TYPE.match(value):
                        out.append(f"{path}.{element}: {value!r} is not a resource type; allowed: service:type "
                                   "(e.g. ec2:instance, s3:bucket, dynamodb:table), service:* or service:ALL_SUPPORTED")
    elif policy_type == "AISERVICES_OPT_OUT_POLICY":
        top = _unknown(document, ("services",), field, "an AI services opt-out policy", out)
        services = top.get("services")
        for name, service in _settings(services if isinstance(services, Mapping) else {}).items():
            path = f"{field}.services.{name}"
            if name not in AI_SERVICES:
                out.append(f"{path}: {name!r} is not an AI service that AI services opt-out policies cover; allowed: "
                           f"{', '.join(sorted(AI_SERVICES))}")
                continue
            elements = _unknown(service, ("opt_out_policy",), path, "an AI service's entry", out)
            for value in _values(elements.get("opt_out_policy", {})):
                if value not in AI_OPT_OUT_VALUES:
                    out.append(f"{path}.opt_out_policy: {value!r} is not a setting; allowed: "
                               f"{', '.join(AI_OPT_OUT_VALUES)} (case-sensitive)")
    elif policy_type == "BACKUP_POLICY":
        top = _unknown(document, BACKUP_TOP, field, "a backup policy", out)
        plans = top.get("plans")
        for name, plan in _settings(plans if isinstance(plans, Mapping) else {}).items():
            path = f"{field}.plans.{name}"
            elements = _unknown(plan, BACKUP_PLAN_KEYS, path, "a backup plan", out)
            for region in _values(elements.get("regions", {})):
                if not isinstance(region, str) or not REGION.match(region):
                    out.append(f"{path}.regions: {region!r} is not an AWS Region code; allowed: codes such as "
                               "us-east-1, eu-west-1, ap-southeast-2")
            rules = elements.get("rules")
            for rule_name, rule in _settings(rules if isinstance(rules, Mapping) else {}).items():
                rule_path = f"{path}.rules.{rule_name}"
                rule_elements = _unknown(rule, BACKUP_RULE_KEYS, rule_path, "a backup rule", out)
                if "lifecycle" in rule_elements:
                    _unknown(rule_elements["lifecycle"], BACKUP_LIFECYCLE_KEYS, f"{rule_path}.lifecycle",
                             "a backup rule's lifecycle", out)
    return out


# ------------------------------------------------------------------------------------------- inheritance


def child_operator_problems(parent: Mapping[str, Any], child: Mapping[str, Any],
                            field: str = "spec.document") -> list[tuple[str, str, list[str]]]:
    """Where ``child`` (attached below) uses a value-setting operator ``parent``'s
    ``@@operators_allowed_for_child_policies`` does not allow: ``(path in the child, operator, allowed)``.  A
    restriction binds its node and everything under it ("If you include child control operators in a parent
    policy, they limit the value-setting operators in all child policies")."""
    found: list[tuple[str, str, list[str]]] = []

    def allowed_at(node: Any, inherited: frozenset[str]) -> frozenset[str]:
        if isinstance(node, Mapping) and isinstance(node.get(CHILD_CONTROL), list):
            values = set(node[CHILD_CONTROL])
            here = frozenset(VALUE_OPERATORS) if "@@all" in values else frozenset(values) & set(VALUE_OPERATORS)
            return inherited & here
        return inherited

    def walk(p: Any, c: Mapping[str, Any], inherited: frozenset[str], path: str) -> None:
        allowed = allowed_at(p, inherited)
        for key, value in c.items():
            if key in VALUE_OPERATORS and key not in allowed:
                found.append((f"{path}.{key}", key, sorted(allowed, key=VALUE_OPERATORS.index)))
            elif isinstance(key, str) and not key.startswith("@@") and isinstance(value, Mapping):
                walk(p.get(key) if isinstance(p, Mapping) else None, value, allowed, f"{path}.{key}")

    walk(parent, child, frozenset(VALUE_OPERATORS), field)
    return found
