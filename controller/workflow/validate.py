"""``awsorg validate``: offline checks of a landing zone's YAML, before it is merged.

No cluster and no AWS: every object of our kinds is admitted against the generated CRD schema (as the API
server would: unknown fields, defaults, patterns, lengths, enums, CEL rules that need no old object), then
the rules that span objects are checked (references, cycles, OU depth, unique names and emails, policies per
target, policy documents).  Each finding names the file and line, the object, the field, what is wrong and
what is allowed.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from controller.api import guardrails as policy_file
from controller.api import limits, validation
from controller.api.models import (
    ACCOUNT_ID_PATTERN,
    API_VERSION,
    CONFIRM_DELETION,
    EMAIL_RULE_MESSAGES,
    GROUP,
    K8S_NAME_PATTERN,
    KINDS_BY_KIND,
    PARENT_ID_PATTERN,
    TAG_KEY_RULES,
    TARGET_ID_PATTERN,
    AccessRole,
    AwsAccountSpec,
    ManagementPolicySpec,
    OrganizationSpec,
    OrgUnitSpec,
    ServiceControlPolicySpec,
)
from controller.planner import claims, guardrails, policy_document, scp_effects
from controller.planner.access_role import (
    PRINCIPALS_ALLOWED,
    DesiredAccessRole,
    TrustCondition,
    managed_policies_problem,
    principal_problem,
    role_name_problem,
    trust_policy_problem,
)
from controller.planner.management_document import (
    child_operator_problems,
    operators_of,
    validate_management_document,
)
from controller.planner.organization import delegation_problem
from controller.planner.orgunit import MAX_OU_DEPTH, within_depth
from controller.planner.policy_document import SCP
from controller.settings import Settings
from controller.workflow import exits, sources
from controller.workflow.escape import plain
from controller.workflow.safeyaml import documents as safe_documents

__all__ = [
    "Finding",
    "Report",
    "check_policy_document",
    "format_github",
    "format_json",
    "format_text",
    "validate_paths",
    "validate_texts",
]

YAML_SUFFIXES = (".yaml", ".yml")
ERROR = "error"
WARNING = "warning"

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PATTERN_WORDS = {
    K8S_NAME_PATTERN: "a Kubernetes object name (lower-case letters, digits, '-' and '.', starting and ending "
    "with a letter or digit)",
    **limits.PATTERN_WORDS,
    PARENT_ID_PATTERN: "an AWS root id (r-...) or OU id (ou-...-...)",
    TARGET_ID_PATTERN: "an AWS root id (r-...), OU id (ou-...-...) or 12-digit account id",
    ACCOUNT_ID_PATTERN: "a 12-digit AWS account id",
}


# ------------------------------------------------------------------------------------------------ findings


@dataclass(frozen=True)
class Finding:
    """One problem: where it is, what is wrong and what is allowed (both in ``message``)."""

    file: str
    line: int
    kind: str
    name: str
    field: str
    message: str
    severity: str = ERROR

    @property
    def object(self) -> str:
        return f"{self.kind}/{self.name}" if self.kind else ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "kind": self.kind,
            "name": self.name,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    objects: int = 0
    documents: dict[str, int] = field(default_factory=dict)  # file -> YAML documents in it, empty ones aside
    notes: list[str] = field(default_factory=list)  # what was not checked offline (the policy's rules that need AWS)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def exit_code(self) -> int:
        return exits.REFUSED if self.errors else exits.OK


# ------------------------------------------------------------------------------------------------ parsing


@dataclass(frozen=True)
class _Document:
    file: str
    line: int  # 1-based line of the document's first node
    node: yaml.Node
    data: Any


@dataclass
class _Object:
    doc: _Document
    kind: str
    name: str
    raw: dict[str, Any]
    obj: dict[str, Any]  # pruned and defaulted

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.obj.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def raw_spec(self) -> dict[str, Any]:
        spec = self.raw.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def where(self) -> str:
        return f"{self.doc.file}:{self.doc.line}"


def _parse(text: str, file: str) -> tuple[list[_Document], list[Finding], int]:
    """The documents of one file, what stopped or refused them, and how many there are (empty ones aside).

    Each document is composed (a graph in which an alias is its anchor's node: linear in the text), measured
    as go-yaml measures it (:func:`~controller.workflow.safeyaml.check_aliases`: an alias bomb or a recursive
    anchor is refused at once) and only then built into data.
    """
    documents: list[_Document] = []
    findings: list[Finding] = []
    count = 0
    try:
        for node, data, refused in safe_documents(text):
            if refused is not None:
                line = (refused.mark or node.start_mark).line + 1
                findings.append(Finding(file, line, "", "", "", f"{refused.message}; the document was not read "
                                        "further; allowed: anchors and aliases that expand modestly (kubectl and "
                                        "the API server refuse this document too)"))
            elif data is not None:  # None: an empty document ("---" alone, ~, comments): nothing, as for kubectl
                documents.append(_Document(file, node.start_mark.line + 1, node, data))
            else:
                continue
            count += 1
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        what = f"{context}: {problem}" if context else str(problem)
        findings.append(
            Finding(file, line, "", "", "", f"YAML does not parse: {what}; allowed: valid YAML (documents after "
                    "this point in the file were not checked)")
        )
    return documents, findings, count


def _duplicate_keys(node: yaml.Node, path: str = "") -> Iterator[tuple[yaml.Node, str]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
            sub = f"{path}.{name}" if path else name
            if name and name != "<<":
                if name in seen:
                    yield key, sub
                seen.add(name)
            yield from _duplicate_keys(value, sub)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, f"{path}[{i}]")


def _line_of(node: yaml.Node, path: str) -> int:
    """The line of a field (its key) in the document, or of its nearest ancestor present in the YAML."""
    line = node.start_mark.line + 1
    current: yaml.Node = node
    for token in validation.path_tokens(path):
        if isinstance(token, int):
            if not isinstance(current, yaml.SequenceNode) or token >= len(current.value):
                break
            current = current.value[token]
            line = current.start_mark.line + 1
            continue
        if not isinstance(current, yaml.MappingNode):
            break
        found = None
        for key, value in current.value:
            if isinstance(key, yaml.ScalarNode) and key.value == token:
                found = (key, value)
        if found is None:
            break
        line = found[0].start_mark.line + 1
        current = found[1]
    return line


def _yaml_files(path: Path) -> list[Path] | None:
    """The ``*.yaml``/``*.yml`` files of a directory (recursively, hidden directories aside), or the file itself;
    None when ``path`` does not exist (:func:`controller.workflow.sources.yaml_files`)."""
    return sources.yaml_files(path)


def _display(path: Path) -> str:
    return os.path.normpath(path).replace(os.sep, "/")


# ------------------------------------------------------------------------------------------------ entry points


def validate_paths(paths: Sequence[Path], base: Sequence[Path] | None = None,
                   policy: policy_file.OperatorPolicy | None = None) -> Report:
    """Validate every ``*.yaml``/``*.yml`` file under ``paths`` (files or directories, recursively).

    A path without manifests is an error (a typo in CI must not pass as "no problems found"): one that does
    not exist, a directory without YAML files, or YAML files without a single document.

    ``base``: the files before the change (``--base``; see :mod:`controller.workflow.sources`), or None.
    With it, of two objects that collide (a duplicate name, email, ...), the one the change introduced is
    blamed, so that the finding lands on a line of the diff.

    ``policy``: the administrator's policy (``--policy``; None: its defaults), whose refusals are errors.
    """
    texts: dict[str, str] = {}  # display name -> text; a file under two of the paths is read once
    problems: list[Finding] = []
    files_of: list[tuple[Path, list[str]]] = []
    for path in paths:
        files = _yaml_files(path)
        if files is None:
            problems.append(Finding(_display(path), 0, "", "", "", "no such file or directory; allowed: YAML "
                                    "files or directories that contain them"))
            continue
        files_of.append((path, [_display(f) for f in files]))
        root = sources.checkout_root(path)
        for file in files:
            display = _display(file)
            if display in texts:
                continue
            try:
                texts[display] = sources.read_text(file, root)
            except sources.UnsafeFile as exc:
                problems.append(Finding(display, 0, "", "", "", f"refused: {exc.reason}"))
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(Finding(display, 0, "", "", "", f"cannot read the file ({exc}); allowed: UTF-8 "
                                        "text"))
    report = validate_texts(texts.items(), base=None if base is None else _read_base(base), policy=policy)
    report.findings[:0] = problems
    flagged = {f.file for f in report.findings}
    for path, names in files_of:
        if sum(report.documents.get(n, 0) for n in names) or flagged.intersection(names):
            continue
        if path.is_dir() and not names:
            what = "no *.yaml or *.yml files in this directory (hidden directories are not read)"
        elif path.is_dir():
            what = f"no YAML documents in the {len(names)} *.yaml/*.yml file{'s' if len(names) > 1 else ''} here"
        else:
            what = "no YAML documents in this file"
        report.findings.insert(len(problems), Finding(_display(path), 0, "", "", "", f"{what}: nothing to validate; "
                                                      "allowed: a path with at least one Kubernetes object"))
    return report


def _read_base(paths: Sequence[Path]) -> list[tuple[str, str]]:
    texts: list[tuple[str, str]] = []
    for path in paths:
        root = sources.checkout_root(path)
        for file in _yaml_files(path) or []:
            try:
                texts.append((_display(file), sources.read_text(file, root)))
            except (OSError, UnicodeDecodeError, sources.SourceError):
                continue  # the base's own problems are not this change's
    return texts


def _objects_of(texts: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[_Object]]:
    """The objects of our kinds in ``texts``, by kind and metadata.name, admitted (defaults applied); their
    findings are dropped."""
    checker = _Checker()
    for file, text in texts:
        for doc in _parse(text, file)[0]:
            checker.document(doc)
    objects: dict[tuple[str, str], list[_Object]] = {}
    for obj in checker.objects:
        objects.setdefault((obj.kind, obj.name), []).append(obj)
    return objects


def validate_texts(texts: Iterable[tuple[str, str]], base: Iterable[tuple[str, str]] | None = None,
                   policy: policy_file.OperatorPolicy | None = None) -> Report:
    """Validate YAML given as ``(file name, text)`` pairs, all together (references span files).

    ``base``: the files before the change, the same way, or None (see :func:`validate_paths`); ``policy``: the
    administrator's policy (None: its defaults).
    """
    report = Report()
    checker = _Checker(None if base is None else _objects_of(base), policy or policy_file.DEFAULT)
    for file, text in texts:
        report.files.append(file)
        documents, problems, count = _parse(text, file)
        report.documents[file] = count
        checker.findings.extend(problems)
        for doc in documents:
            checker.document(doc)
    checker.cross_object_rules()
    report.objects = len(checker.objects)
    report.notes = checker.notes
    order = {file: i for i, file in enumerate(report.files)}
    report.findings.extend(sorted(checker.findings, key=lambda f: (order.get(f.file, -1), f.line)))
    return report


# ------------------------------------------------------------------------------------------------ the checks


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _shape(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    return f"a {type(value).__name__} ({value})"  # dates, binary


def _ref(spec: Mapping[str, Any], key: str) -> str | None:
    ref = spec.get(key)
    return _str(ref.get("name")) if isinstance(ref, Mapping) else None


def _describe(schema: Mapping[str, Any] | None) -> str:
    """What a schema allows, in words."""
    if schema is None:
        return "nothing: the field is not part of the API"
    kind = schema.get("type")
    parts: list[str] = []
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if kind == "string":
        pattern = schema.get("pattern")
        if pattern:
            parts.append(_PATTERN_WORDS.get(pattern, f"a string matching {pattern}"))
        else:
            parts.append("a string")
        lo, hi = schema.get("minLength"), schema.get("maxLength")
        if lo is not None and hi is not None:
            parts.append(f"{lo} to {hi} characters")
        elif hi is not None:
            parts.append(f"at most {hi} characters")
        elif lo:
            parts.append(f"at least {lo} characters")
    elif kind == "boolean":
        parts.append("true or false")
    elif kind in ("integer", "number"):
        parts.append(f"a {kind}")
    elif kind == "array":
        parts.append("a list")
        if isinstance(schema.get("items"), Mapping):
            parts.append(f"of {_describe(schema['items'])}")
        if "maxItems" in schema:
            parts.append(f"with at most {schema['maxItems']} items")
    elif kind == "object":
        props = schema.get("properties")
        if props:
            parts.append("an object with the fields " + ", ".join(props))
        elif isinstance(schema.get("additionalProperties"), Mapping):
            parts.append("a map of " + _describe(schema["additionalProperties"]))
            if "maxProperties" in schema:
                parts.append(f"with at most {schema['maxProperties']} entries")
        else:
            parts.append("an object")
    return ", ".join(parts) or "a value of the documented shape"


def _value_at(data: Any, field_path: str) -> Any:
    for token in validation.path_tokens(field_path):
        try:
            data = data[token]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _rules(schema: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for rule in schema.get("x-kubernetes-validations") or []:
        if isinstance(rule, Mapping) and isinstance(rule.get("rule"), str):
            yield rule["rule"], str(rule.get("message") or "")
    for sub in (schema.get("properties") or {}).values():
        yield from _rules(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), Mapping):
            yield from _rules(schema[key])


class _Checker:
    def __init__(self, base: Mapping[tuple[str, str], Sequence[_Object]] | None = None,
                 policy: policy_file.OperatorPolicy = policy_file.DEFAULT) -> None:
        self.policy = policy
        self.notes: list[str] = []
        self.findings: list[Finding] = []
        self.objects: list[_Object] = []
        self.named: list[_Object] = []  # objects with a metadata.name, in the order of the files
        self.by_name: dict[tuple[str, str], _Object] = {}  # the one object of each kind and name the rules use
        self.base = base  # the objects before the change, by kind and name (--base), or None

    # -- reporting ---------------------------------------------------------------------------------
    def add(self, obj: _Object, field_path: str, problem: str, allowed: str, severity: str = ERROR) -> None:
        self.findings.append(
            Finding(
                obj.doc.file,
                _line_of(obj.doc.node, field_path),
                obj.kind,
                obj.name,
                field_path,
                f"{problem}; allowed: {allowed}",
                severity,
            )
        )

    def _doc_finding(self, doc: _Document, kind: str, name: str, field_path: str, message: str) -> None:
        self.findings.append(Finding(doc.file, _line_of(doc.node, field_path), kind, name, field_path, message))

    # -- one document ------------------------------------------------------------------------------
    def document(self, doc: _Document) -> None:
        data = doc.data
        if not isinstance(data, dict):
            self.findings.append(Finding(
                doc.file, doc.line, "", "", "",
                f"the document is {_shape(data)}, not a mapping: a Kubernetes object must be a mapping with "
                "apiVersion, kind, metadata; allowed: one object per YAML document (documents separated by ---)"))
            return
        kind = data.get("kind")
        api_version = data.get("apiVersion")
        group = api_version.split("/", 1)[0] if isinstance(api_version, str) and "/" in api_version else None
        meta = data.get("metadata")
        name = str(meta.get("name") or "") if isinstance(meta, dict) else ""
        kind_text = kind if isinstance(kind, str) else ""
        if group != GROUP:
            if kind in KINDS_BY_KIND and api_version is None:
                self._doc_finding(doc, kind_text, name, "apiVersion",
                                  f"apiVersion is missing; allowed: {API_VERSION}")
            return  # not ours: ConfigMaps, Applications, Kustomizations, ...
        for key_node, path in _duplicate_keys(doc.node):
            self.findings.append(Finding(doc.file, key_node.start_mark.line + 1, kind_text, name, path,
                                         f"the key {path.rsplit('.', 1)[-1]!r} appears twice in one mapping (YAML "
                                         "keeps only the last); allowed: each key once"))
        if kind not in KINDS_BY_KIND:
            self._doc_finding(doc, kind_text, name, "kind",
                              f"unknown kind {kind!r} in the API group {GROUP}; allowed: "
                              + ", ".join(KINDS_BY_KIND))
            return
        assert isinstance(kind, str)
        if api_version != API_VERSION:
            self._doc_finding(doc, kind, name, "apiVersion",
                              f"unknown version {api_version!r} of {GROUP}; allowed: {API_VERSION}")
            return
        admission = validation.admit(data, kind)
        obj = _Object(doc, kind, name, data, admission.obj)
        self.objects.append(obj)
        self._metadata(obj, meta)
        for path in admission.unknown_fields:
            parent, _, leaf = path.rpartition(".")
            self.add(obj, path, f"unknown field {leaf!r}", _describe(validation.schema_at(kind, parent))
                     if parent else "apiVersion, kind, metadata, spec")
        rules = dict((message, rule) for rule, message in _rules(validation.crd_schema(kind)) if message)
        tag_key_messages = {message for _, message in TAG_KEY_RULES}
        email_messages = set(EMAIL_RULE_MESSAGES.values())
        for cause in admission.causes:
            if cause.field.endswith("tags") and any(cause.detail.endswith(f": {m}") for m in tag_key_messages):
                continue  # reported key by key by _tags, in the same words
            if cause.field == "spec.email" and any(cause.detail.endswith(f": {m}") for m in email_messages):
                continue  # reported once by _email, naming each rule broken and the character
            if cause.detail.endswith(f": {limits.CONTROL_CHARACTERS_MESSAGE}"):
                value = _value_at(admission.obj, cause.field)
                problem = limits.control_character_problem(value) if isinstance(value, str) else None
                self.add(obj, cause.field, problem or limits.CONTROL_CHARACTERS_MESSAGE,
                         "text without control characters: they break every log line, event and terminal that "
                         "shows it")
                continue
            found = next(((m, r) for m, r in rules.items() if cause.detail.endswith(f": {m}")), None)
            if found is not None:
                self.add(obj, cause.field, f"violates the rule {found[1]!r}", found[0])
            elif cause.reason == "FieldValueRequired":
                self.add(obj, cause.field, "the field is required but missing",
                         _describe(validation.schema_at(kind, cause.field)))
            else:
                problem = cause.detail.split(": supported values:", 1)[0]
                self.add(obj, cause.field, problem, _describe(validation.schema_at(kind, cause.field)))
        self._tags(obj)
        self._email(obj)

    def _email(self, obj: _Object) -> None:
        """CreateAccount's email rules (the CRD's rules say the same, one message each), named with the character;
        a length the schema already refused is not looked at again."""
        email = obj.spec.get("email") if obj.kind == "AwsAccount" else None
        if isinstance(email, str) and limits.EMAIL_MIN <= len(email) <= limits.EMAIL_MAX:
            refusal = limits.email_refusal(email)
            if refusal is not None:
                self.add(obj, "spec.email", *refusal)

    def _metadata(self, obj: _Object, meta: Any) -> None:
        allowed = ("a lower-case RFC 1123 subdomain: lower-case letters, digits, '-' and '.', starting and ending "
                   "with a letter or digit, at most 253 characters")
        if not isinstance(meta, dict) or not obj.name:
            self.add(obj, "metadata.name", "metadata.name is missing", allowed)
            return
        if not isinstance(meta.get("name"), str) or not _DNS1123_SUBDOMAIN.match(obj.name) or len(obj.name) > 253:
            self.add(obj, "metadata.name", f"invalid name {obj.name!r}", allowed)
        self.named.append(obj)
        for key in ("labels", "annotations"):
            value = meta.get(key)
            if value is not None and (not isinstance(value, dict) or not all(isinstance(v, str)
                                                                              for v in value.values())):
                self.add(obj, f"metadata.{key}", f"metadata.{key} is not a map of strings",
                         'a map of strings (quote numbers and booleans: "1", "true")')

    def _tags(self, obj: _Object) -> None:
        """Each tag key AWS would refuse, named (the CRD's CEL rules say the same of the map as a whole)."""
        tags = obj.spec.get("tags")
        if isinstance(tags, dict):
            for key in tags:
                refusal = limits.tag_key_refusal(str(key))
                if refusal is not None:
                    self.add(obj, f"spec.tags.{key}", *refusal)

    # -- rules across objects ----------------------------------------------------------------------
    def of_kind(self, kind: str) -> list[_Object]:
        return [o for o in self.objects if o.kind == kind and self.by_name.get((kind, o.name)) is o]

    def policies(self) -> list[_Object]:
        """The policy objects of both kinds (ServiceControlPolicy, ManagementPolicy): one set of rules."""
        return [*self.of_kind("ServiceControlPolicy"), *self.of_kind("ManagementPolicy")]

    def cross_object_rules(self) -> None:
        self._unique_object_names()
        self._references()
        self._ou_tree()
        self._unique_ou_names()
        self._unique_accounts()
        self._account_quota()
        self._unique_policy_names()
        self._policies_per_target()
        self._policy_documents()
        self._child_operators()
        self._organization()
        self._scp_effects()
        self._guardrails()

    # -- duplicates: which of two objects is to blame --------------------------------------------
    def _duplicates(self, objects: Iterable[_Object], key: Callable[[_Object], Hashable | None],
                    same: Callable[[_Object, _Object], bool] | None = None) -> Iterator[tuple[_Object, _Object]]:
        """``(kept, blamed)`` for every object whose ``key`` another object also has, the owner chosen by the
        engine's rule (:func:`~controller.planner.claims.claim_owner`: the oldest object keeps the resource).

        Offline, no object is bound or creating, and "oldest" is the order in which they would be created: the
        objects the base already has (``--base``; "the same" by ``same(old, new)``, else by an equal key) before
        the ones the change introduces, each group in the order of the files (as ``kubectl apply`` creates them).
        So the finding lands on a line of the diff.
        """
        same = same or (lambda old, new: key(old) == key(new))
        base = self.base

        def introduced(obj: _Object) -> bool:
            return base is None or not any(same(old, obj) for old in base.get((obj.kind, obj.name), ()))

        groups: dict[Hashable, list[_Object]] = {}
        for obj in objects:
            value = key(obj)
            if value is not None:
                groups.setdefault(value, []).append(obj)
        for group in groups.values():
            if len(group) < 2:
                continue
            held = [claims.Claim(str(i), created=f"{int(introduced(obj))}:{i:09d}") for i, obj in enumerate(group)]
            for claim, obj in zip(held, group, strict=True):
                owner = claims.claim_owner(claim, held)
                if owner is not None:
                    yield group[int(owner)], obj

    def _unique_object_names(self) -> None:
        blamed_ids: set[int] = set()
        for kept, blamed in self._duplicates(self.named, lambda o: (o.kind, o.name),
                                             same=lambda old, new: old.raw == new.raw):
            blamed_ids.add(id(blamed))
            self.add(blamed, "metadata.name", f"{blamed.kind} {blamed.name!r} is defined twice (also at "
                     f"{kept.where})", "each metadata.name once per kind")
        for obj in self.named:
            if id(obj) not in blamed_ids:
                self.by_name.setdefault((obj.kind, obj.name), obj)

    def _names(self, kind: str) -> str:
        names = sorted(o.name for o in self.of_kind(kind))
        shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        return f"({shown})" if names else "(none in these files)"

    def _check_ref(self, obj: _Object, field_path: str, name: str | None, kind: str, alternative: str) -> None:
        if name is None or (kind, name) in self.by_name:
            return
        self.add(obj, field_path, f"{kind} {name!r} is not defined in the files given",
                 f"the metadata.name of an {kind} in these files {self._names(kind)}{alternative}")

    def _references(self) -> None:
        for ou in self.of_kind("OrgUnit"):
            self._check_ref(ou, "spec.parentRef.name", _ref(ou.spec, "parentRef"), "OrgUnit",
                            ", or spec.parentId for an OU managed elsewhere")
        for acct in self.of_kind("AwsAccount"):
            self._check_ref(acct, "spec.orgUnitRef.name", _ref(acct.spec, "orgUnitRef"), "OrgUnit",
                            ", or spec.parentId for an OU managed elsewhere")
        for pol in self.policies():
            targets = pol.spec.get("targets")
            if not isinstance(targets, dict):
                continue
            for key, kind in (("orgUnitRefs", "OrgUnit"), ("accountRefs", "AwsAccount")):
                refs = targets.get(key)
                for i, ref in enumerate(refs if isinstance(refs, list) else []):
                    name = _str(ref.get("name")) if isinstance(ref, dict) else None
                    self._check_ref(pol, f"spec.targets.{key}[{i}].name", name, kind,
                                    ", or its AWS id in spec.targets.ids")

    def _organization(self) -> None:
        """References to accounts, and each delegated administrator's service among the trusted services (AWS
        registers one only for a service with trusted access). The singleton's name is the CRD's own rule."""
        for org in self.of_kind("Organization"):
            self._check_ref(org, "spec.centralLogging.accountRef.name",
                            _ref(org.spec.get("centralLogging") or {}, "accountRef"), "AwsAccount", "")
            trusted = org.spec.get("trustedServices")
            trusted = set(trusted) if isinstance(trusted, list) else set()
            admins = org.spec.get("delegatedAdministrators")
            for i, admin in enumerate(admins if isinstance(admins, list) else []):
                if not isinstance(admin, dict):
                    continue
                self._check_ref(org, f"spec.delegatedAdministrators[{i}].accountRef.name", _ref(admin, "accountRef"),
                                "AwsAccount", f", or its 12-digit id in spec.delegatedAdministrators[{i}].accountId")
                principal = _str(admin.get("servicePrincipal"))
                unsupported = delegation_problem(principal) if principal is not None else None
                if unsupported is not None:
                    problem, _, allowed = unsupported.partition("; allowed: ")
                    self.add(org, f"spec.delegatedAdministrators[{i}].servicePrincipal", problem, allowed)
                elif principal is not None and principal not in trusted:
                    self.add(org, f"spec.delegatedAdministrators[{i}].servicePrincipal",
                             f"{principal!r} is not in spec.trustedServices; AWS registers a delegated administrator "
                             "only for a service with trusted access",
                             f"a service principal listed in spec.trustedServices ({', '.join(sorted(trusted))})")
            self._access_role(org)

    def _access_role(self, org: _Object) -> None:
        """The checks the operator's planner makes before touching a member account (the same functions): the role
        is not the one the operator assumes (AWSORG_MEMBER_ROLE_NAME, as the operator reads it), and every trusted
        principal is an ARN IAM accepts in a trust policy."""
        role = org.spec.get("accessRole")
        if not isinstance(role, dict):
            return
        name = _str(role.get("roleName"))
        member_role = os.environ.get("AWSORG_MEMBER_ROLE_NAME", "").strip() or Settings.member_role_name
        refused = role_name_problem(name, member_role) if name is not None else None
        if refused is not None:
            self.add(org, "spec.accessRole.roleName", refused.split(";", 1)[0] + "; managing its trust policy could "
                     "lock the operator out", f"any other IAM role name than {member_role!r}")
        principals = role.get("trustedPrincipals")
        for i, principal in enumerate(principals if isinstance(principals, list) else []):
            if isinstance(principal, str) and principal_problem(principal) is not None:
                self.add(org, f"spec.accessRole.trustedPrincipals[{i}]",
                         f"{principal!r} is not a principal IAM accepts in a trust policy (IAM answers "
                         "MalformedPolicyDocument: Invalid principal in policy)", PRINCIPALS_ALLOWED)
        self._trust_policy(org, role)

    def _trust_policy(self, org: _Object, role: dict[str, Any]) -> None:
        """The trust policy the operator would write (the planner's own function) and its length as IAM counts it;
        two conditions of one operator and key. The schema checks the count, operators and ranges."""
        try:
            spec = AccessRole.model_validate(role)
        except ValueError as exc:
            for error in getattr(exc, "errors", lambda: [])():
                flagged = any((f.kind, f.name, f.field) == ("Organization", org.name, "spec.accessRole.conditions")
                              for f in self.findings)  # the CRD's own rule said it already
                if error.get("loc") == ("conditions",) and error.get("type") == "value_error" and not flagged:
                    self.add(org, "spec.accessRole.conditions", str(error.get("msg", "")).removeprefix(
                        "Value error, "), "one entry per operator and key (key names compared case-insensitively)")
            return  # the schema's findings say the rest
        desired = DesiredAccessRole(spec.role_name, tuple(spec.trusted_principals), tuple(spec.managed_policy_arns),
                                    conditions=tuple(TrustCondition(c.operator, c.key, tuple(c.values))
                                                     for c in spec.conditions),
                                    max_session_duration=spec.max_session_duration)
        too_many = managed_policies_problem(desired)
        if too_many is not None:
            self.add(org, "spec.accessRole.managedPolicyArns", too_many.split("; ", 1)[0],
                     too_many.split("; ", 1)[1])
        too_long = trust_policy_problem(desired)
        if too_long is not None:
            problem, _, allowed = too_long.partition(": ")
            self.add(org, "spec.accessRole", problem + " (IAM answers LimitExceeded: Cannot exceed quota for "
                     "ACLSizePerRole)", allowed)

    def _guardrails(self) -> None:
        """The administrator's policy (``--policy``, else its defaults): the operator's own checks
        (:func:`controller.planner.guardrails.refusals`), with what can be known offline (the account ids the files
        give); a rule that needs the organization is named in a note, not passed in silence."""
        models: dict[str, type[BaseModel]] = {"Organization": OrganizationSpec, "AwsAccount": AwsAccountSpec,
                                              "OrgUnit": OrgUnitSpec, "ServiceControlPolicy": ServiceControlPolicySpec,
                                              "ManagementPolicy": ManagementPolicySpec}
        member_role = os.environ.get("AWSORG_MEMBER_ROLE_NAME", "").strip() or Settings.member_role_name
        ids = {o.name: str(o.spec["accountId"]) for o in self.of_kind("AwsAccount") if _str(o.spec.get("accountId"))}
        facts = guardrails.Facts(member_role_name=member_role, account_ids=ids)
        flagged = {(f.kind, f.name, f.field) for f in self.findings if f.severity == ERROR}
        for kind, model in models.items():
            for obj in self.of_kind(kind):
                try:
                    spec = model.model_validate(obj.spec)
                except ValueError:
                    continue  # refused by the schema already
                for refusal in guardrails.refusals(obj.name, spec, None, self.policy, facts):
                    if (obj.kind, obj.name, refusal.field) in flagged:
                        continue  # the same field refused by a rule of its own (the operator's own member role)
                    self.findings.append(Finding(obj.doc.file, _line_of(obj.doc.node, refusal.field), obj.kind,
                                                 obj.name, refusal.field, f"forbidden by the administrator's policy "
                                                 f"({refusal.rule}): {refusal.message}"))
                for note in guardrails.unchecked(spec, self.policy, facts):
                    if note not in self.notes:
                        self.notes.append(note)

    def _scp_effects(self) -> None:
        """Warnings: a declared SCP that would deny the Organization's own baseline in member accounts (the
        planner's reading: :func:`controller.planner.scp_effects.spec_warnings`)."""
        orgs = self.of_kind("Organization")
        if not orgs:
            return
        member_role = os.environ.get("AWSORG_MEMBER_ROLE_NAME", "").strip() or Settings.member_role_name
        policies = {p.name: p for p in self.of_kind("ServiceControlPolicy") if self._policy_type(p) == SCP}
        found = scp_effects.spec_warnings(orgs[0].spec, {n: p.spec for n, p in policies.items()},
                                          {o.name: o.spec for o in self.of_kind("AwsAccount")},
                                          {o.name: o.spec for o in self.of_kind("OrgUnit")}, member_role)
        for warning in found:
            problem, _, cure = warning.message.partition(" To let it through, ")
            self.add(policies[warning.policy], "spec.document", problem.rstrip("."), cure, WARNING)

    def _parent_field(self, ou: _Object) -> str:
        return "spec.parentId" if _str(ou.spec.get("parentId")) else "spec.parentRef.name"

    def _ou_tree(self) -> None:
        ous = {o.name: o for o in self.of_kind("OrgUnit")}
        parent = {name: _ref(o.spec, "parentRef") for name, o in ous.items()}
        in_cycle: set[str] = set()

        def refs_of(key: claims.ObjectKey) -> list[claims.ObjectKey]:
            up = parent.get(key[1]) if key[0] == "OrgUnit" else None
            return [("OrgUnit", up)] if up is not None else []

        for start in sorted(ous):
            up = parent[start]
            if start in in_cycle or up is None:
                continue
            chain = claims.find_cycle(("OrgUnit", start), ("OrgUnit", up), refs_of)  # the engine's rule
            if chain:
                cycle = [name for _, name in chain[:-1]]
                in_cycle.update(cycle)
                first = min(cycle)
                loop = cycle[cycle.index(first):] + cycle[: cycle.index(first)] + [first]
                self.add(ous[first], "spec.parentRef.name", "parentRef forms a cycle: " + " -> ".join(loop),
                         "a tree: every chain of parentRef ends at the root (no parentRef) or at a spec.parentId")

        depth: dict[str, tuple[int, str, bool] | None] = {}  # name -> (levels, path, at least)

        def levels(name: str) -> tuple[int, str, bool] | None:
            if name in depth:
                return depth[name]
            depth[name] = None  # guards against cycles (already reported)
            ou = ous[name]
            aws_name = _str(ou.spec.get("name")) or name
            parent_id = _str(ou.spec.get("parentId"))
            ref = parent[name]
            result: tuple[int, str, bool] | None
            if ref is not None:
                up = levels(ref) if ref in ous and ref not in in_cycle else None
                result = None if up is None else (up[0] + 1, f"{up[1]}/{aws_name}", up[2])
            elif parent_id is not None and parent_id.startswith("ou-"):
                result = (2, f"Root/.../{parent_id}/{aws_name}", True)
            else:
                result = (1, f"Root/{aws_name}", False)
            depth[name] = result
            return result

        for name in sorted(ous):
            if name in in_cycle:
                continue
            here = levels(name)
            ref = parent[name]
            above = levels(ref) if ref is not None and ref in ous and ref not in in_cycle else None
            if here is None or within_depth(here[0]):
                continue
            if above is not None and not within_depth(above[0]):
                continue  # reported on the first OrgUnit that is too deep
            at_least = "at least " if here[2] else ""
            self.add(ous[name], self._parent_field(ous[name]),
                     f"the OrgUnit would be nested {at_least}{here[0]} levels deep ({here[1]})",
                     f"at most {MAX_OU_DEPTH} levels of OUs below the root (an AWS limit)")

    def _ou_parent(self, ou: _Object) -> tuple[str, str]:
        """The parent of an OrgUnit as a key, and in words (the engine's claim rule)."""
        return claims.orgunit_parent(_ref(ou.spec, "parentRef"), _str(ou.spec.get("parentId")))

    def _ou_aws_name(self, ou: _Object) -> str:
        return _str(ou.spec.get("name")) or ou.name

    def _unique_ou_names(self) -> None:
        def key(ou: _Object) -> Hashable:
            return claims.orgunit_key(self._ou_aws_name(ou), _ref(ou.spec, "parentRef"), _str(ou.spec.get("parentId")))

        for kept, ou in self._duplicates(self.of_kind("OrgUnit"), key):
            field_path = "spec.name" if _str(ou.raw_spec.get("name")) else "metadata.name"
            self.add(ou, field_path,
                     f"OrgUnit {kept.name!r} ({kept.where}) already has the AWS name {self._ou_aws_name(ou)!r} "
                     f"under {self._ou_parent(ou)[1]}",
                     "OU names unique under one parent (AWS refuses a duplicate: "
                     "DuplicateOrganizationalUnitException)")

    def _unique_accounts(self) -> None:
        accounts = self.of_kind("AwsAccount")

        def email(acct: _Object) -> str | None:
            value = _str(acct.spec.get("email"))
            return claims.account_key(value) if value is not None else None

        for kept, acct in self._duplicates(accounts, email):
            self.add(acct, "spec.email",
                     f"AwsAccount {kept.name!r} ({kept.where}) has the same email {acct.spec['email']!r}",
                     "one account per email, compared case-insensitively (AWS refuses a second account "
                     "with the same root user email)")
        def account_id(acct: _Object) -> str | None:
            value = _str(acct.spec.get("accountId"))
            return claims.account_id_key(value) if value is not None else None

        for kept, acct in self._duplicates(accounts, account_id):
            self.add(acct, "spec.accountId",
                     f"account {acct.spec['accountId']} is already declared by AwsAccount {kept.name!r} "
                     f"({kept.where}); this object would not be acted on, and deleting it would change nothing in AWS",
                     "one AwsAccount per AWS account (its email and its account id are each claimed once)")
        for acct in accounts:
            self._deletion_confirmation(acct)

    def _deletion_confirmation(self, acct: _Object) -> None:
        """Close and RemoveFromOrganization act only with the confirmation annotation naming the account's id (the
        operator's rule: controller.planner.account.plan_destruction); said before merge, as a warning."""
        policy = _str(acct.spec.get("deletionPolicy"))
        metadata = acct.raw.get("metadata")
        annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
        confirmed = _str(annotations.get(CONFIRM_DELETION)) if isinstance(annotations, dict) else None
        named = _str(acct.spec.get("accountId"))
        if confirmed is not None and named is not None and confirmed != named:
            self.add(acct, f"metadata.annotations.{CONFIRM_DELETION}",
                     f"the confirmation names account {confirmed}, but spec.accountId is {named}: it confirms "
                     "nothing, so deleting this object closes or removes no account",
                     f"{CONFIRM_DELETION}: the object's own 12-digit account id", WARNING)
        elif policy in ("Close", "RemoveFromOrganization") and confirmed is None:
            verb = "closes" if policy == "Close" else "removes from the organization"
            self.add(acct, "spec.deletionPolicy",
                     f"deletionPolicy {policy}: deleting this object {verb} its account only once the object "
                     f"carries the annotation {CONFIRM_DELETION} naming that account's id; until then the deletion "
                     "waits (Synced=False, reason DeletionNotConfirmed)",
                     f"add {CONFIRM_DELETION}: \"<account id>\" when the account is to go (kubectl annotate, or in "
                     "Git), or deletionPolicy Retain", WARNING)

    def _account_quota(self) -> None:
        """More member accounts than AWS's default quota allows (with the management account): a warning, since
        the organization's quota may have been raised, which only AWS knows."""
        accounts = self.of_kind("AwsAccount")
        quota = limits.active().accounts
        members = quota - 1
        if len(accounts) > members:
            self.add(accounts[members], "metadata.name",
                     f"{len(accounts)} AwsAccounts and the management account are more than AWS's default quota of "
                     f"{quota} accounts per organization (CreateAccount would end FAILED with "
                     "ACCOUNT_LIMIT_EXCEEDED)",
                     f"at most {members} member accounts unless the quota was raised: {limits.RAISE_ACCOUNT_QUOTA}; "
                     f"once raised, say so with {limits.setting('accounts', quota + 1)}",
                     WARNING)

    def _policy_type(self, pol: _Object) -> str:
        return _str(pol.spec.get("type")) or SCP

    def _unique_policy_names(self) -> None:
        def key(pol: _Object) -> str:
            return claims.policy_key(self._policy_type(pol), _str(pol.spec.get("name")) or pol.name)

        for kept, pol in self._duplicates(self.policies(), key):
            ptype, aws_name = self._policy_type(pol), _str(pol.spec.get("name")) or pol.name
            field_path = "spec.name" if _str(pol.raw_spec.get("name")) else "metadata.name"
            self.add(pol, field_path,
                     f"{kept.kind} {kept.name!r} ({kept.where}) already has the AWS name "
                     f"{aws_name!r} for the type {ptype}",
                     "policy names unique per policy type (AWS refuses a duplicate: DuplicatePolicyException)")

    def _policies_per_target(self) -> None:
        """The one count of attachments (:func:`~controller.api.limits.count_attachments`, which the planner reads
        too) on the declared attachments: per policy type, the AWS managed default attached there included."""
        per_target: dict[tuple[str, str], list[tuple[_Object, str]]] = {}  # (type, target) -> policies
        descriptions: dict[str, str] = {}
        for pol in self.policies():
            policy_type = self._policy_type(pol)
            targets = pol.spec.get("targets")
            if not isinstance(targets, dict):
                continue
            entries: list[tuple[str, str, str]] = []  # key, field, description
            if targets.get("root") is True:
                entries.append(("root", "spec.targets.root", "the root"))
            for list_key, kind in (("orgUnitRefs", "OrgUnit"), ("accountRefs", "AwsAccount")):
                refs = targets.get(list_key)
                for i, ref in enumerate(refs if isinstance(refs, list) else []):
                    name = _str(ref.get("name")) if isinstance(ref, dict) else None
                    if name is not None:
                        entries.append((f"{kind}/{name}", f"spec.targets.{list_key}[{i}].name", f"{kind} {name!r}"))
            ids = targets.get("ids")
            for i, target_id in enumerate(ids if isinstance(ids, list) else []):
                if isinstance(target_id, str):
                    key = "root" if target_id.startswith("r-") else f"id/{target_id}"
                    entries.append((key, f"spec.targets.ids[{i}]", "the root" if key == "root" else target_id))
            counted: set[str] = set()
            for key, field_path, description in entries:
                if key not in counted:
                    counted.add(key)
                    per_target.setdefault((policy_type, key), []).append((pol, field_path))
                    descriptions.setdefault(key, description)
        for (policy_type, key), attached in per_target.items():
            count = limits.count_attachments(policy_type, descriptions[key], [p.name for p, _ in attached])
            if count.within:
                continue
            pol, field_path = attached[count.first_over]
            words = limits.TYPE_WORDS.get(policy_type, policy_type)
            if policy_type in limits.MANAGEMENT_POLICY_TYPES:
                allowed = (f"at most {count.most} {words} per target (AWS's quota for {policy_type}, not a setting): "
                           "merge policies or attach some to a parent instead")
            else:
                allowed = (f"at most {count.most} {words} per target, the AWS managed "
                           f"{limits.AWS_MANAGED_DEFAULT.get(policy_type, 'default policy')} included (an AWS limit; "
                           f"the setting {limits.policy_limit_name(policy_type, 'count')}): merge policies or attach "
                           "some to a parent instead")
            self.add(pol, field_path, count.message(), allowed)

    def _attached_at(self, pol: _Object) -> list[tuple[str, str]]:
        """Where a policy object is attached, as ``(node, how it is named)``: ``root``, ``OrgUnit/<name>``,
        ``AwsAccount/<name>`` (raw ids: ``id/<id>``, which the files cannot place in the tree)."""
        targets = pol.spec.get("targets")
        if not isinstance(targets, dict):
            return []
        out = [("root", "the root")] if targets.get("root") is True else []
        for key, kind in (("orgUnitRefs", "OrgUnit"), ("accountRefs", "AwsAccount")):
            refs = targets.get(key)
            for ref in refs if isinstance(refs, list) else []:
                name = _str(ref.get("name")) if isinstance(ref, dict) else None
                if name is not None:
                    out.append((f"{kind}/{name}", f"{kind} {name!r}"))
        return out

    def _ancestors(self, node: str) -> list[str]:
        """The nodes above ``node`` in the tree the files declare (OUs by parentRef, accounts by orgUnitRef), the
        root last; [] for the root.  An OU placed by a raw parentId (elsewhere in the tree) is under the root."""
        if node == "root":
            return []
        kind, _, name = node.partition("/")
        specs = {o.name: o.spec for o in self.of_kind("OrgUnit")}
        accounts = {o.name: o.spec for o in self.of_kind("AwsAccount")}
        up = _ref(accounts.get(name, {}), "orgUnitRef") if kind == "AwsAccount" else _ref(specs.get(name, {}),
                                                                                          "parentRef")
        out: list[str] = []
        while up is not None and f"OrgUnit/{up}" not in out and len(out) <= limits.MAX_OU_DEPTH + 1:
            out.append(f"OrgUnit/{up}")
            up = _ref(specs.get(up, {}), "parentRef")
        return [*out, "root"]

    def _child_operators(self) -> None:
        """A child's value-setting operators against its parents' @@operators_allowed_for_child_policies, when both
        are declared in the files (AWS: "If an inherited child control operator restricts the use of an operator,
        you can't reverse that rule in a child policy"; the operator is then not applied to the effective policy)."""
        pols = [p for p in self.of_kind("ManagementPolicy") if isinstance(p.spec.get("document"), dict)]
        for child in pols:
            for node, _ in self._attached_at(child):
                above = set(self._ancestors(node))
                for parent in pols:
                    if parent is child or self._policy_type(parent) != self._policy_type(child):
                        continue
                    where = next((how for at, how in self._attached_at(parent) if at in above), None)
                    if where is None:
                        continue
                    for path, operator, allowed in child_operator_problems(parent.spec["document"],
                                                                           child.spec["document"]):
                        self.add(child, path, f"{operator} is not allowed here by ManagementPolicy "
                                 f"{parent.name!r} ({parent.where}, attached to {where}), whose "
                                 "@@operators_allowed_for_child_policies restricts the policies below it",
                                 f"only {', '.join(allowed) or 'no operator (@@none)'} at this path in a "
                                 f"{self._policy_type(child)} attached below {where}")

    def _policy_documents(self) -> None:
        for pol in self.policies():
            document = pol.spec.get("document")
            if not isinstance(document, dict):
                continue  # the schema check reported it
            for field_path, problem, allowed in check_policy_document(document, self._policy_type(pol)):
                self.add(pol, field_path, problem, allowed)


def check_policy_document(document: Mapping[str, Any], policy_type: str) -> list[tuple[str, str, str]]:
    """Problems of a policy document as ``(field path, what is wrong, what is allowed)``.

    The rules (IAM policy grammar for SCPs and RCPs, the size of the minified JSON) are
    ``controller.planner.policy_document``'s, the same the operator applies before calling AWS.
    """
    limit = limits.active().document_size(policy_type)
    size = f" of at most {limit:,} characters as minified JSON" if limit is not None else ""
    if policy_type in limits.MANAGEMENT_POLICY_TYPES:
        operators = ", ".join(operators_of(policy_type))
        allowed = f"a {policy_type} document in the management policy syntax (operators {operators}){size}"
        return [(path, message, allowed) for path, _, message in
                (p.partition(": ") for p in validate_management_document(policy_type, document, "spec.document"))]
    if policy_type == policy_document.RCP:
        statement = (f"Deny statements of {', '.join(limits.RCP_STATEMENT_ELEMENTS)}, Principal \"*\", actions of "
                     f"{', '.join(sorted(limits.RCP_SERVICES))}")
    else:
        statement = "Statement with Effect, Action or NotAction, Resource, Condition"
    allowed = f"a {policy_type} document in the IAM policy grammar (Version \"2012-10-17\", {statement}){size}"
    problems = []
    for problem in policy_document.validate_document(policy_type, document, field="spec.document"):
        path, _, message = problem.partition(": ")
        problems.append((path, message, allowed))
    return problems


# ------------------------------------------------------------------------------------------------ output


def format_text(report: Report) -> str:
    """One line per finding, whatever the names, values and file names hold (:func:`~controller.workflow.escape.plain`:
    a newline in a value shows as ``\\n`` and cannot start a line of its own)."""
    lines = []
    for f in report.findings:
        parts = [f"{plain(f.file)}:{f.line}"]
        if f.kind:
            parts.append(plain(f.object))
        if f.field:
            parts.append(plain(f.field))
        prefix = "" if f.severity == ERROR else f"{f.severity}: "
        lines.append(": ".join(parts) + f": {prefix}{plain(f.message)}")
    lines += [f"note: not checked offline: {plain(note)}" for note in report.notes]
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def _summary(report: Report) -> str:
    files = f"{len(report.files)} file{'s' if len(report.files) != 1 else ''}"
    objects = f"{report.objects} object{'s' if report.objects != 1 else ''}"
    errors = len(report.errors)
    warnings = len(report.findings) - errors
    if not report.findings:
        return f"awsorg validate: {objects} in {files}: no problems found"
    counts = f"{errors} error{'s' if errors != 1 else ''}"
    if warnings:
        counts += f", {warnings} warning{'s' if warnings != 1 else ''}"
    return f"awsorg validate: {counts} in {objects} in {files}"


def format_json(report: Report) -> str:
    return json.dumps([f.as_dict() for f in report.findings], indent=2, ensure_ascii=False) + "\n"  # é as written


def _escape_data(value: str) -> str:
    """GitHub's escaping of a workflow command's data (``escapeData`` in @actions/core), after every other control
    character and line separator is made visible and the text is cut (:func:`~controller.workflow.escape.plain`)."""
    return plain(value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def format_github(report: Report) -> str:
    """GitHub Actions workflow commands: one annotation per finding on the file and line, then the summary; every
    string escaped as GitHub's toolkit escapes it, so that none ends its line or its property."""
    lines = []
    for f in report.findings:
        props = [f"file={_escape_property(f.file)}"]
        if f.line:
            props.append(f"line={f.line}")
        title = " ".join(p for p in (f.object, f.field) if p) or "awsorg validate"
        props.append(f"title={_escape_property(title)}")
        command = "error" if f.severity == ERROR else "warning"
        lines.append(f"::{command} {','.join(props)}::{_escape_data(f.message)}")
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


FORMATS = {"text": format_text, "json": format_json, "github": format_github}
