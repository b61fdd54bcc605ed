"""Structural-schema pruning, defaulting and validation, as the Kubernetes API server does it for CRs.

Used by ``awsorg validate`` (through :mod:`controller.api.validation`) and by the sandbox's Kubernetes
API, so that both admit an object exactly alike.

Errors are reported as :class:`Cause` (reason, field, message) with Kubernetes-style field
paths (``spec.parentRef.name``, ``spec.targets.ids[0]``) and Kubernetes-style messages.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controller.api import cel, patterns

__all__ = ["Cause", "default", "prune", "validate"]

logger = logging.getLogger(__name__)

Schema = Mapping[str, Any]
_ROOT_META_KEYS = ("apiVersion", "kind", "metadata")


@dataclass(frozen=True)
class Cause:
    reason: str  # FieldValueInvalid, FieldValueRequired, ...
    field: str  # spec.name, spec.targets.ids[0]
    detail: str  # "Too long: may not be more than 128 bytes"

    @property
    def message(self) -> str:
        return f"{self.field}: {self.detail}" if self.field else self.detail

    def as_dict(self) -> dict[str, str]:
        # As metav1.StatusCause: the message is the error body, the field path is separate.
        return {"reason": self.reason, "message": self.detail, "field": self.field}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _fmt(value: Any) -> str:
    """Format a value the way Go's field.Invalid prints it (approximately)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(json.dumps(value, separators=(",", ":"), sort_keys=True))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


# --------------------------------------------------------------------------------------------------
# Pruning and defaulting.
# --------------------------------------------------------------------------------------------------

def prune(obj: Any, schema: Schema, *, root: bool = True) -> list[str]:
    """Drop unknown fields and non-nullable nulls in place. Returns the pruned field paths."""
    pruned: list[str] = []
    _prune(obj, schema, "", pruned, root=root)
    return pruned


def _prune(value: Any, schema: Schema, path: str, pruned: list[str], *, root: bool = False) -> None:
    if isinstance(value, dict):
        props: Mapping[str, Schema] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        embedded = bool(schema.get("x-kubernetes-embedded-resource"))
        for key in list(value):
            sub: Schema | None = props.get(key)
            if sub is None and isinstance(additional, Mapping):
                sub = additional
            if (root or embedded) and key in _ROOT_META_KEYS:
                continue  # object metadata is never pruned by the schema
            if sub is None:
                if not preserve and additional is not True:
                    del value[key]
                    pruned.append(_join(path, key))
                continue
            if value[key] is None and not sub.get("nullable"):
                del value[key]
                continue
            _prune(value[key], sub, _join(path, key), pruned)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                _prune(item, items, f"{path}[{i}]", pruned)


def default(value: Any, schema: Schema) -> None:
    """Apply ``default``s in place, recursively into objects that exist (structural defaulting)."""
    if isinstance(value, dict):
        props: Mapping[str, Schema] = schema.get("properties") or {}
        for key, sub in props.items():
            if "default" in sub and (key not in value or (value[key] is None and not sub.get("nullable"))):
                value[key] = copy.deepcopy(sub["default"])
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            sub_schema = props.get(key)
            if sub_schema is None and isinstance(additional, Mapping):
                sub_schema = additional
            if sub_schema is not None:
                default(item, sub_schema)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for item in value:
                default(item, items)


# --------------------------------------------------------------------------------------------------
# Validation.
# --------------------------------------------------------------------------------------------------

# String formats, as kube-openapi's strfmt registry checks them (k8s.io/kube-openapi/pkg/validation/strfmt,
# default.go, date.go, time.go); the API server validates CR values and CRD defaults with this registry.
# Formats it does not know are not checked ("formatValidator ... Applies ... KnownFormats.ContainsName").
# strfmt.IsEmail is Go's net/mail.ParseAddress: "addr@domain" or "Display Name <addr@domain>".
_EMAIL_RE = re.compile(r'^(?:[^<>]*<(?P<angle>[^<>\s]+)>|(?P<bare>[^<>\s]+))$')
_ADDR_RE = re.compile(r'^[^@\s"(),:;<>\[\\\]]+@[A-Za-z0-9.-]+$')
# strfmt.HostnamePattern, without its \p{S}\p{L} classes (Python's re has none): ASCII host names only.
_HOSTNAME_RE = re.compile(r"^([a-zA-Z0-9]((-?[a-zA-Z0-9]{0,62})?)|"
                          r"([a-zA-Z0-9](([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.)){1,}([a-zA-Z]){2,63})$")
# strfmt.DateTimePattern, matched against the part after the date's "t" (IsDateTime lower-cases first).
_TIME_RE = re.compile(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)


def _is_date(value: str) -> bool:
    """strfmt.IsDate: ``time.Parse("2006-01-02", str)`` (exactly four-two-two digits, a real day)."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_date_time(value: str) -> bool:
    """strfmt.IsDateTime: ``if len(str) < 4 { return false }``; date, "t", then DateTimePattern."""
    if len(value) < 4:
        return False
    parts = value.lower().split("t")
    if len(parts) < 2 or not _is_date(parts[0]):
        return False
    m = _TIME_RE.match(parts[1])
    return m is not None and m.group(1) <= "23" and m.group(2) <= "59" and m.group(3) <= "59"


def _check_format(fmt: str, value: str) -> bool:
    fmt = fmt.replace("-", "")  # strfmt's default name normalizer: "date-time" is "datetime"
    try:
        if fmt == "email":
            m = _EMAIL_RE.match(value.strip())
            addr = (m.group("angle") or m.group("bare")) if m else ""
            return bool(_ADDR_RE.match(addr)) and ".." not in addr and not addr.startswith(".")
        if fmt == "datetime":
            return _is_date_time(value)
        if fmt == "date":
            return _is_date(value)
        if fmt == "uuid":
            return bool(_UUID_RE.match(value))
        if fmt == "ipv4":
            ipaddress.IPv4Address(value)
            return True
        if fmt == "ipv6":
            ipaddress.IPv6Address(value)
            return True
        if fmt == "hostname":
            return len(value) <= 255 and bool(_HOSTNAME_RE.match(value)) and all(
                len(label) <= 63 for label in value.split("."))
    except ValueError:
        return False
    return True  # other formats are not checked here


# Integer formats: kube-openapi's numberValidator checks the value fits ("IsValueValidAgainstRange":
# "Checked value must be of type integer with format int32 in <path>"); int64 is every JSON integer here.
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1), "uint32": (0, 2**32 - 1),
               "uint64": (0, 2**64 - 1)}


def _type_ok(expected: str, value: Any, schema: Schema) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, (int, str)) and not isinstance(value, bool)
    actual = _json_type(value)
    if expected == "number":
        return actual in ("number", "integer")
    if expected == "integer" and isinstance(value, float) and value.is_integer():
        return True
    return actual == expected


def validate(value: Any, schema: Schema, old: Any = None, *, has_old: bool = False,
             path: str = "") -> list[Cause]:
    """Validate a value against a structural schema; ``old`` enables transition rules."""
    causes: list[Cause] = []
    _validate(value, schema, path, causes, old, has_old)
    return causes


def _validate(value: Any, schema: Schema, path: str, causes: list[Cause],
              old: Any, has_old: bool) -> None:
    if value is None:
        if not schema.get("nullable") and (schema.get("type") or schema.get("x-kubernetes-int-or-string")):
            expected = schema.get("type") or "string"
            causes.append(Cause("FieldValueTypeInvalid", path,
                                f'Invalid value: "null": {path} in body must be of type {expected}: "null"'))
        return

    expected = schema.get("type")
    if expected and not _type_ok(expected, value, schema):
        actual = _json_type(value)
        causes.append(Cause("FieldValueTypeInvalid", path,
                            f'Invalid value: "{actual}": {path} in body must be of type {expected}: "{actual}"'))
        return

    start = len(causes)
    where = path

    enum = schema.get("enum")
    if enum is not None and not any(_same(value, option) for option in enum):
        supported = ", ".join(_fmt(option) for option in enum)
        causes.append(Cause("FieldValueNotSupported", path,
                            f"Unsupported value: {_fmt(value)}: supported values: {supported}"))

    if isinstance(value, str):
        max_length = schema.get("maxLength")
        if max_length is not None and len(value) > max_length:
            causes.append(Cause("FieldValueTooLong", path,
                                f"Too long: may not be more than {max_length} bytes"))
        min_length = schema.get("minLength")
        if min_length is not None and len(value) < min_length:
            causes.append(Cause("FieldValueInvalid", path,
                                f"Invalid value: {_fmt(value)}: {where} in body should be at least "
                                f"{min_length} chars long"))
        pattern = schema.get("pattern")
        # No pattern on a value past its length limit (Python's re backtracks; the length already refuses it).
        if pattern is not None and (max_length is None or len(value) <= max_length):
            try:
                matched = patterns.search(pattern, value)
            except re.error:
                logger.warning("Skipping an unsupported pattern %r at %s", pattern, path)
                matched = True
            if not matched:
                causes.append(Cause("FieldValueInvalid", path,
                                    f"Invalid value: {_fmt(value)}: {where} in body should match '{pattern}'"))
        fmt = schema.get("format")
        if fmt and not _check_format(fmt, value):
            causes.append(Cause("FieldValueInvalid", path,
                                f"Invalid value: {_fmt(value)}: {where} in body must be of type {fmt}: "
                                f"{_fmt(value)}"))

    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _validate_number(value, schema, path, causes)

    if isinstance(value, list):
        _validate_array(value, schema, path, causes, old, has_old)

    if isinstance(value, dict):
        _validate_object(value, schema, path, causes, old, has_old)

    _validate_combinators(value, schema, path, causes)

    # Like the API server, CEL rules run only on values that passed the structural checks.
    if len(causes) == start:
        _validate_rules(value, schema, path, causes, old, has_old)


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and bool(a == b)


def _validate_number(value: float, schema: Schema, path: str, causes: list[Cause]) -> None:
    where = path
    bounds = _INT_RANGES.get(str(schema.get("format"))) if schema.get("type") == "integer" else None
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        # Not an openapi Validation error: the API server reports it on the whole object's path, value "".
        causes.append(Cause("FieldValueInvalid", "", f'Invalid value: "": Checked value must be of type integer '
                                                     f'with format {schema["format"]} in {path}'))
    minimum = schema.get("minimum")
    if minimum is not None:
        if schema.get("exclusiveMinimum") and value <= minimum:
            causes.append(Cause("FieldValueInvalid", path,
                                f"Invalid value: {_fmt(value)}: {where} in body should be greater than {minimum}"))
        elif value < minimum:
            causes.append(Cause("FieldValueInvalid", path,
                                f"Invalid value: {_fmt(value)}: {where} in body should be greater than or "
                                f"equal to {minimum}"))
    maximum = schema.get("maximum")
    if maximum is not None:
        if schema.get("exclusiveMaximum") and value >= maximum:
            causes.append(Cause("FieldValueInvalid", path,
                                f"Invalid value: {_fmt(value)}: {where} in body should be less than {maximum}"))
        elif value > maximum:
            causes.append(Cause("FieldValueInvalid", path,
                                f"Invalid value: {_fmt(value)}: {where} in body should be less than or "
                                f"equal to {maximum}"))
    multiple = schema.get("multipleOf")
    if multiple and (value / multiple) != int(value / multiple):
        causes.append(Cause("FieldValueInvalid", path,
                            f"Invalid value: {_fmt(value)}: {where} in body should be a multiple of {multiple}"))


def _validate_array(value: list[Any], schema: Schema, path: str, causes: list[Cause],
                    old: Any, has_old: bool) -> None:
    where = path
    max_items = schema.get("maxItems")
    if max_items is not None and len(value) > max_items:
        causes.append(Cause("FieldValueTooMany", path,
                            f"Too many: {len(value)}: must have at most {max_items} items"))
    min_items = schema.get("minItems")
    if min_items is not None and len(value) < min_items:
        causes.append(Cause("FieldValueInvalid", path,
                            f"Invalid value: {len(value)}: {where} in body should have at least "
                            f"{min_items} items"))
    if schema.get("x-kubernetes-list-type") == "set" or schema.get("uniqueItems"):
        seen: list[Any] = []
        for i, item in enumerate(value):
            if any(_same(item, s) for s in seen):
                causes.append(Cause("FieldValueDuplicate", f"{path}[{i}]", f"Duplicate value: {_fmt(item)}"))
            seen.append(item)
    items = schema.get("items")
    if isinstance(items, Mapping):
        old_items = _correlate_list(value, old, schema) if has_old else {}
        for i, item in enumerate(value):
            old_item = old_items.get(i, _MISSING)
            _validate(item, items, f"{path}[{i}]", causes,
                      None if old_item is _MISSING else old_item, old_item is not _MISSING)


_MISSING = object()


def _correlate_list(value: list[Any], old: Any, schema: Schema) -> dict[int, Any]:
    """Find the old counterparts of list items (only for list-type map/set, as Kubernetes does)."""
    if not isinstance(old, list):
        return {}
    list_type = schema.get("x-kubernetes-list-type")
    result: dict[int, Any] = {}
    if list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []

        def key_of(item: Any) -> tuple[Any, ...] | None:
            return tuple(item.get(k) for k in keys) if isinstance(item, Mapping) else None

        old_by_key = {key_of(item): item for item in old}
        for i, item in enumerate(value):
            k = key_of(item)
            if k is not None and k in old_by_key:
                result[i] = old_by_key[k]
    elif list_type == "set":
        for i, item in enumerate(value):
            if any(_same(item, o) for o in old):
                result[i] = item
    return result


def _validate_object(value: dict[str, Any], schema: Schema, path: str, causes: list[Cause],
                     old: Any, has_old: bool) -> None:
    for key in schema.get("required") or []:
        if key not in value:
            causes.append(Cause("FieldValueRequired", _join(path, key), "Required value"))
    max_props = schema.get("maxProperties")
    if max_props is not None and len(value) > max_props:
        causes.append(Cause("FieldValueTooMany", path,
                            f"Too many: {len(value)}: must have at most {max_props} items"))
    min_props = schema.get("minProperties")
    if min_props is not None and len(value) < min_props:
        causes.append(Cause("FieldValueInvalid", path,
                            f"Invalid value: {len(value)}: {path} in body should have at least "
                            f"{min_props} properties"))
    props: Mapping[str, Schema] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    old_map = old if has_old and isinstance(old, Mapping) else None
    for key, item in value.items():
        sub = props.get(key)
        if sub is None and isinstance(additional, Mapping):
            sub = additional
        if sub is None:
            continue
        if old_map is not None and key in old_map:
            _validate(item, sub, _join(path, key), causes, old_map[key], True)
        else:
            _validate(item, sub, _join(path, key), causes, None, False)


def _validate_combinators(value: Any, schema: Schema, path: str, causes: list[Cause]) -> None:
    where = path
    for sub in schema.get("allOf") or []:
        causes.extend(validate(value, sub, path=path))
    one_of = schema.get("oneOf")
    if one_of:
        matches = sum(1 for sub in one_of if not validate(value, sub, path=path))
        if matches != 1:
            causes.append(Cause("FieldValueInvalid", path,
                                f'Invalid value: "{_json_type(value)}": {where} in body must validate one and '
                                f'only one schema (oneOf). Found {matches} valid alternatives'))
    any_of = schema.get("anyOf")
    if any_of and not any(not validate(value, sub, path=path) for sub in any_of):
        causes.append(Cause("FieldValueInvalid", path,
                            f'Invalid value: "{_json_type(value)}": {where} in body must validate at least '
                            f'one schema (anyOf)'))
    not_schema = schema.get("not")
    if isinstance(not_schema, Mapping) and not validate(value, not_schema, path=path):
        causes.append(Cause("FieldValueInvalid", path,
                            f'Invalid value: "{_json_type(value)}": {where} in body must not validate the '
                            f'schema (not)'))


def _validate_rules(value: Any, schema: Schema, path: str, causes: list[Cause],
                    old: Any, has_old: bool) -> None:
    for rule in schema.get("x-kubernetes-validations") or []:
        text = rule.get("rule") if isinstance(rule, Mapping) else None
        if not isinstance(text, str):
            continue
        try:
            compiled = cel.compile_rule(text)
        except cel.UnsupportedRule as e:
            logger.info("Skipping an unsupported validation rule %r at %s: %s", text, path or "<root>", e)
            continue
        if compiled.is_transition and not has_old:
            continue
        field = path
        field_path = rule.get("fieldPath")
        if isinstance(field_path, str) and field_path:
            field = path + field_path if field_path.startswith((".", "[")) else _join(path, field_path)
            field = field.removeprefix(".")  # a rule on the whole object: ".metadata.name" names metadata.name
        reason = rule.get("reason") or "FieldValueInvalid"
        try:
            ok = compiled.evaluate(value, old)
        except cel.RuleError as e:
            causes.append(Cause("FieldValueInvalid", field,
                                f'Invalid value: "{_json_type(value)}": {e} evaluating rule: {text}'))
            continue
        except Exception as e:  # never crash the API server on a rule
            logger.info("Skipping a validation rule %r that failed to evaluate: %r", text, e)
            continue
        if not ok:
            message = rule.get("message") or f"failed rule: {text}"
            if reason == "FieldValueRequired":
                detail = f"Required value: {message}"
            elif reason == "FieldValueForbidden":
                detail = f"Forbidden: {message}"
            elif reason == "FieldValueDuplicate":
                detail = f"Duplicate value: {message}"
            else:
                reason = "FieldValueInvalid"
                detail = f'Invalid value: "{_json_type(value)}": {message}'
            causes.append(Cause(reason, field, detail))
