"""Admission of CustomResourceDefinitions, as the apiextensions-apiserver validates them.

The sandbox's Kubernetes API calls :func:`validate_crd` for every create and update of a CRD (not its
status), and refuses the CRD with 422 when it returns causes. Each rule below follows
k8s.io/apiextensions-apiserver, quoted beside it:

- ``pkg/apis/apiextensions/validation/validation.go`` (``ValidateCustomResourceDefinitionOpenAPISchema``,
  ``validateCustomResourceDefinitionValidation``, ``ValidateCustomResourceColumnDefinition``);
- ``pkg/apiserver/schema/validation.go`` (``ValidateStructural``: the structural-schema invariants) and
  ``complete.go``;
- ``pkg/apiserver/schema/defaulting/validation.go`` (``ValidateDefaults``: every default validated against
  its own schema, formats included, and pruned);
- ``pkg/apiserver/schema/cel/compilation.go`` (every ``x-kubernetes-validations`` rule compiled).

Field paths and messages are the server's (``field.Error``: ``<path>: Invalid value: <value>: <detail>``;
the internal type's field names, so printer columns say ``JSONPath``). Where the sandbox is stricter than
a real server it says so in the message: a CEL rule cel-python cannot compile (a Kubernetes library
function it lacks, :data:`controller.api.cel.K8S_ONLY_FUNCTIONS`) is refused rather than left unenforced,
and a printer column whose JSONPath does not parse is refused at once (a real server accepts the CRD, then
answers every request for its objects with 500 "the server could not properly serve the CR columns").
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from controller.api import cel
from controller.api import schema as structural
from controller.api.schema import Cause
from controller.sandbox import _kube_table

__all__ = ["validate_crd"]

Schema = Mapping[str, Any]

# validation.go: printerColumnDatatypes, customResourceColumnDefinitionFormats, openapiV3Types,
# supportedValidationReason (sets.NewString(...).List() is sorted).
_COLUMN_TYPES = sorted(["integer", "number", "string", "boolean", "date"])
_COLUMN_FORMATS = sorted(["int32", "int64", "float", "double", "byte", "date", "date-time", "password"])
_OPENAPI_TYPES = sorted(["string", "number", "integer", "boolean", "array", "object"])
_RULE_REASONS = sorted(["FieldValueRequired", "FieldValueForbidden", "FieldValueInvalid", "FieldValueDuplicate"])
_META_FIELDS = ("metadata", "kind", "apiVersion")  # validation.go: metaFields
# schema/validation.go: intOrStringAnyOf, the one anyOf (or first allOf's anyOf) a structural schema may have.
_INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]

_ROOT, _ITEM, _FIELD = "root", "item", "field"  # schema/validation.go: rootLevel, itemLevel, fieldLevel


# --------------------------------------------------------------------------------------------------
# field.Error, as apimachinery/pkg/util/validation/field/errors.go renders it.
# --------------------------------------------------------------------------------------------------

def _go_value(value: Any) -> str:
    """``ErrorBody``: %v for numbers and bools, %q for strings, json.Marshal for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")  # Go's HTML escaping


def _required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", path, f"Required value: {detail}" if detail else "Required value")


def _forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", path, f"Forbidden: {detail}")


def _invalid(path: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", path, f"Invalid value: {_go_value(value)}: {detail}")


def _not_supported(path: str, value: Any, allowed: Sequence[str]) -> Cause:
    supported = ", ".join(json.dumps(a) for a in allowed)
    return Cause("FieldValueNotSupported", path,
                 f"Unsupported value: {_go_value(value)}: supported values: {supported}")


def _key(path: str, key: str) -> str:
    return f"{path}[{key}]"  # field.Path.Key


# --------------------------------------------------------------------------------------------------
# The CRD.
# --------------------------------------------------------------------------------------------------

def validate_crd(crd: Mapping[str, Any], old: Mapping[str, Any] | None = None) -> list[Cause]:
    """The causes a real API server gives for this ``apiextensions.k8s.io/v1`` CRD (created, or updated from
    ``old``); empty when it accepts it."""
    spec = crd.get("spec") if isinstance(crd.get("spec"), Mapping) else {}
    assert isinstance(spec, Mapping)
    names = spec.get("names") if isinstance(spec.get("names"), Mapping) else {}
    assert isinstance(names, Mapping)
    group = str(spec.get("group") or "")
    causes: list[Cause] = []
    # ValidateCustomResourceDefinition's nameValidationFn: `if name != requiredName { ... }`
    name = str((crd.get("metadata") or {}).get("name") or "")
    if name != f"{names.get('plural', '')}.{group}":
        causes.append(_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    # validateCustomResourceDefinitionSpec
    if not group:
        causes.append(_required("spec.group"))
    elif "." not in group:
        causes.append(_invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = str(spec.get("scope") or "")
    if not scope:
        causes.append(_required("spec.scope"))
    elif scope not in ("Cluster", "Namespaced"):
        causes.append(_not_supported("spec.scope", scope, ["Cluster", "Namespaced"]))
    for i, version in enumerate(spec.get("versions") or []):
        if isinstance(version, Mapping) and not (version.get("schema") or {}).get("openAPIV3Schema"):
            causes.append(_required(f"spec.versions[{i}].schema.openAPIV3Schema"))  # requireOpenAPISchema
    preserve_unknown = spec.get("preserveUnknownFields") is True
    if preserve_unknown and any(_has_default(((v.get("schema") or {}).get("openAPIV3Schema")) or {})
                                for v in spec.get("versions") or [] if isinstance(v, Mapping)):
        causes.append(_invalid("spec.preserveUnknownFields", True,
                               "must be false in order to use defaults in the schema"))
    for i, version in enumerate(spec.get("versions") or []):
        if not isinstance(version, Mapping):
            continue
        path = f"spec.versions[{i}]"
        if _dns1035(str(version.get("name") or "")):
            causes.append(_invalid(f"{path}.name", version.get("name") or "", _dns1035(str(version.get("name") or ""))))
        # validateCustomResourceDefinitionVersion: the schema, then the subresources, then the columns.
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if isinstance(schema, Mapping):
            causes.extend(_validate_schema(schema, f"{path}.schema.openAPIV3Schema"))
        for j, column in enumerate(version.get("additionalPrinterColumns") or []):
            causes.extend(_validate_column(column, f"{path}.additionalPrinterColumns[{j}]"))
    causes.extend(_validate_names(names))
    if old is not None:
        causes.extend(_immutable(spec, old))
    # validatePreserveUnknownFields: "disallow changing spec.preserveUnknownFields=false to ...=true"
    if preserve_unknown and not (old is not None and (old.get("spec") or {}).get("preserveUnknownFields") is True):
        causes.append(_invalid("spec.preserveUnknownFields", True, "cannot set to true, set "
                               "x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead"))
    return causes


def _has_default(s: Any) -> bool:
    """validation.go schemaHasDefaults: a default anywhere in the schema."""
    if not isinstance(s, Mapping):
        return False
    if s.get("default") is not None:
        return True
    children: list[Any] = [s.get("items"), s.get("additionalProperties"), s.get("not"),
                           *(s.get("properties") or {}).values()]
    for junctor in ("allOf", "anyOf", "oneOf"):
        children += list(s.get(junctor) or [])
    return any(_has_default(child) for child in children)


def _immutable(spec: Mapping[str, Any], old: Mapping[str, Any]) -> list[Cause]:
    """validateCustomResourceDefinitionSpecUpdate: scope and kind once Established (the sandbox establishes
    every CRD at once), group and plural always ("these affects the resource name")."""
    old_spec = old.get("spec") or {}
    causes: list[Cause] = []
    for field, new_value, old_value in (
            ("spec.scope", spec.get("scope"), old_spec.get("scope")),
            ("spec.names.kind", (spec.get("names") or {}).get("kind"), (old_spec.get("names") or {}).get("kind")),
            ("spec.group", spec.get("group"), old_spec.get("group")),
            ("spec.names.plural", (spec.get("names") or {}).get("plural"),
             (old_spec.get("names") or {}).get("plural"))):
        if new_value != old_value:  # apimachinery ValidateImmutableField
            causes.append(_invalid(field, new_value or "", "field is immutable"))
    return causes


def _dns1035(value: str) -> str:
    """apimachinery's IsDNS1035Label, its messages joined with "," as the callers join them."""
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", value):
        errs.append("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
                    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
                    "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
    return ",".join(errs)


def _validate_names(names: Mapping[str, Any]) -> list[Cause]:
    """The names' part of validateCustomResourceDefinitionSpec, then ValidateCustomResourceDefinitionNames.

    v1's SetDefaults_CustomResourceDefinitionSpec defaults singular (lower-case kind) and listKind (kind +
    "List") first, so only plural and kind can be missing.
    """
    kind = str(names.get("kind") or "")
    plural = str(names.get("plural") or "")
    singular = str(names.get("singular") or kind.lower())
    list_kind = str(names.get("listKind") or (f"{kind}List" if kind else ""))
    causes: list[Cause] = []
    for field, value in (("plural", plural), ("singular", singular), ("kind", kind), ("listKind", list_kind)):
        if not value:
            causes.append(_required(f"spec.names.{field}"))
    for field, value in (("plural", plural), ("singular", singular)):
        if value and _dns1035(value):
            causes.append(_invalid(f"spec.names.{field}", value, _dns1035(value)))
    for field, value in (("kind", kind), ("listKind", list_kind)):
        if value and _dns1035(value.lower()):
            causes.append(_invalid(f"spec.names.{field}", value,
                                   f"may have mixed case, but should otherwise match: {_dns1035(value.lower())}"))
    for i, value in enumerate(names.get("shortNames") or []):
        if _dns1035(str(value)):
            causes.append(_invalid(f"spec.names.shortNames[{i}]", value, _dns1035(str(value))))
    if kind and kind == list_kind:
        causes.append(_invalid("spec.names.listKind", list_kind, "kind and listKind may not be the same"))
    for i, value in enumerate(names.get("categories") or []):
        if _dns1035(str(value)):
            causes.append(_invalid(f"spec.names.categories[{i}]", value, _dns1035(str(value))))
    return causes


def _validate_column(col: Mapping[str, Any], path: str) -> list[Cause]:
    """validation.go ``ValidateCustomResourceColumnDefinition`` and ``validateSimpleJSONPath``."""
    causes: list[Cause] = []
    if not col.get("name"):
        causes.append(_required(f"{path}.name"))
    kind = col.get("type") or ""
    if not kind:
        causes.append(_required(f"{path}.type", f"must be one of {','.join(_COLUMN_TYPES)}"))
    elif kind not in _COLUMN_TYPES:
        causes.append(_invalid(f"{path}.type", kind, f"must be one of {','.join(_COLUMN_TYPES)}"))
    fmt = col.get("format") or ""
    if fmt and fmt not in _COLUMN_FORMATS:
        causes.append(_invalid(f"{path}.format", fmt, f"must be one of {','.join(_COLUMN_FORMATS)}"))
    json_path = col.get("jsonPath") or ""
    where = f"{path}.JSONPath"  # the internal type's field name, as the server prints it
    if not json_path:
        causes.append(_required(where))
    elif not json_path.startswith("."):
        causes.append(_invalid(where, json_path, "must be a simple json path starting with ."))
    else:
        # Stricter than the server, which accepts the CRD and then fails to serve its objects:
        # tableconvertor.go: `path.Parse(fmt.Sprintf("{%s}", col.JSONPath))` ->
        # "unrecognized column definition %q"; customresource_handler.go then answers 500
        # "the server could not properly serve the CR columns" for every request of the resource.
        try:
            _kube_table.jsonpath({}, "{" + json_path + "}")
        except ValueError:
            causes.append(_invalid(where, json_path, f"unrecognized column definition {json.dumps(json_path)} "
                                                     "(a real server accepts this CRD, then answers 500 \"the "
                                                     "server could not properly serve the CR columns\")"))
    return causes


def _validate_schema(schema: Schema, path: str) -> list[Cause]:
    """validation.go ``validateCustomResourceDefinitionValidation`` (v1: structural schemas required)."""
    causes: list[Cause] = []
    if schema.get("nullable"):
        causes.append(_forbidden(f"{path}.nullable", "nullable cannot be true at the root"))
    # `if ss, err := NewStructural(schema) ... else if ValidateStructural(...) ... else if ValidateDefaults(...)
    #  ... else { celContext = RootCELContext(schema) }`: rules are compiled only for a valid structural
    # schema with valid defaults.
    structural_errors = _structural_errors(schema, path)
    compile_rules = False
    if structural_errors:
        causes.extend(structural_errors)
    else:
        default_errors = _default_errors(schema, path, root_schema=schema, inside_meta=False)
        causes.extend(default_errors)
        compile_rules = not default_errors
    schema_errors, cel_errors = _openapi_errors(schema, path, is_root=True, forbid_defaults="",
                                                forbid_old_self=None, compile_rules=compile_rules)
    return causes + schema_errors + cel_errors


# --------------------------------------------------------------------------------------------------
# ValidateStructural (pkg/apiserver/schema/validation.go, complete.go).
# --------------------------------------------------------------------------------------------------

def _structural_errors(schema: Schema, path: str) -> list[Cause]:
    errors = _invariants(schema, _ROOT, path) + _completeness(schema, path, path)
    # "sort error messages. Otherwise, the errors slice will change every time"
    return sorted(errors, key=lambda c: c.message)


def _invariants(s: Schema, lvl: str, path: str) -> list[Cause]:
    """``validateStructuralInvariants``."""
    errs: list[Cause] = []
    kind = s.get("type") or ""
    items = s.get("items")
    if kind == "array" and items is None:
        errs.append(_required(f"{path}.items", "must be specified"))
    if isinstance(items, Mapping):
        errs += _invariants(items, _ITEM, f"{path}.items")
    for name, sub in (s.get("properties") or {}).items():
        if isinstance(sub, Mapping):
            errs += _invariants(sub, _FIELD, _key(f"{path}.properties", name))
    additional = s.get("additionalProperties")
    if additional is not None:
        if lvl == _ROOT:
            errs.append(_forbidden(f"{path}.additionalProperties", "must not be used at the root"))
        if isinstance(additional, Mapping):
            errs += _invariants(additional, _FIELD, f"{path}.additionalProperties")

    int_or_string = bool(s.get("x-kubernetes-int-or-string"))
    preserve = bool(s.get("x-kubernetes-preserve-unknown-fields"))
    embedded = bool(s.get("x-kubernetes-embedded-resource"))
    # validateExtensions
    if int_or_string and preserve:
        errs.append(_invalid(f"{path}.x-kubernetes-preserve-unknown-fields", True,
                             "must be false if x-kubernetes-int-or-string is true"))
    if int_or_string and embedded:
        errs.append(_invalid(f"{path}.x-kubernetes-embedded-resource", True,
                             "must be false if x-kubernetes-int-or-string is true"))

    # isIntOrStringAnyOfPattern / isIntOrStringAllOfPattern
    skip_any_of = s.get("anyOf") == _INT_OR_STRING_ANY_OF
    all_of = s.get("allOf") or []
    skip_first_all_of_any_of = bool(all_of) and isinstance(all_of[0], Mapping) and (
        all_of[0].get("anyOf") == _INT_OR_STRING_ANY_OF)
    errs += _value_validation(s, skip_any_of, skip_first_all_of_any_of, lvl, path)

    check_metadata = lvl == _ROOT or embedded
    if embedded and kind != "object":
        if not kind:
            errs.append(_required(f"{path}.type", "must be object if x-kubernetes-embedded-resource is true"))
        else:
            errs.append(_invalid(f"{path}.type", kind, "must be object if x-kubernetes-embedded-resource is true"))
    elif not kind and not int_or_string and not preserve:
        detail = {_ROOT: "must not be empty at the root", _ITEM: "must not be empty for specified array items",
                  _FIELD: "must not be empty for specified object fields"}[lvl]
        errs.append(_required(f"{path}.type", detail))
    if embedded and additional is not None:
        errs.append(_forbidden(f"{path}.additionalProperties",
                               "must not be used if x-kubernetes-embedded-resource is set"))
    if lvl == _ROOT and kind and kind != "object":
        errs.append(_invalid(f"{path}.type", kind, "must be object at the root"))

    props = s.get("properties") or {}
    for name in ("kind", "apiVersion"):
        sub = props.get(name)
        if isinstance(sub, Mapping) and check_metadata and sub.get("type") != "string":
            errs.append(_invalid(_key(f"{path}.properties", name) + ".type", sub.get("type") or "", "must be string"))
    metadata = props.get("metadata")
    if isinstance(metadata, Mapping):
        errs += _metadata_invariants(metadata, check_metadata, lvl, _key(f"{path}.properties", "metadata"))
    if embedded and not preserve and not props:
        errs.append(_required(f"{path}.properties", "must not be empty if x-kubernetes-embedded-resource is true "
                                                    "without x-kubernetes-preserve-unknown-fields"))
    return errs


def _metadata_invariants(s: Schema, check_metadata: bool, lvl: str, path: str) -> list[Cause]:
    """``validateStructuralMetadataInvariants``: "restrict metadata schemas to name and generateName only"."""
    errs: list[Cause] = []
    if check_metadata and s.get("type") != "object":
        errs.append(_invalid(f"{path}.type", s.get("type") or "", "must be object"))
    if lvl == _ROOT:
        rest = {k: v for k, v in s.items() if k not in ("type", "default")}
        props = rest.get("properties")
        if isinstance(props, Mapping) and props and set(props) <= {"name", "generateName"}:
            del rest["properties"]
        if rest:
            errs.append(_forbidden(path, "must not specify anything other than name and generateName, but metadata "
                                         "is implicitly specified"))
    return errs


def _value_validation(s: Schema, skip_any_of: bool, skip_first_all_of_any_of: bool, lvl: str,
                      path: str) -> list[Cause]:
    """``validateValueValidation``: the logic junctors must not carry structure of their own."""
    errs: list[Cause] = []
    if not skip_any_of:
        for i, sub in enumerate(s.get("anyOf") or []):
            errs += _nested(sub, False, lvl, f"{path}.anyOf[{i}]")
    for i, sub in enumerate(s.get("allOf") or []):
        errs += _nested(sub, skip_first_all_of_any_of and i == 0, lvl, f"{path}.allOf[{i}]")
    for i, sub in enumerate(s.get("oneOf") or []):
        errs += _nested(sub, False, lvl, f"{path}.oneOf[{i}]")
    if isinstance(s.get("not"), Mapping):
        errs += _nested(s["not"], False, lvl, f"{path}.not")
    pattern = s.get("pattern")
    if isinstance(pattern, str) and pattern:
        # `if _, err := regexp.Compile(v.Pattern); err != nil { field.Invalid(fldPath.Child("pattern"), v.Pattern,
        #  fmt.Sprintf("must be a valid regular expression, but isn't: %v", err)) }`
        problem = _re2_problem(pattern)
        if problem:
            errs.append(_invalid(f"{path}.pattern", pattern,
                                 f"must be a valid regular expression, but isn't: {problem}"))
    return errs


# Go's regexp (RE2) has no lookaround and no backreferences, which Python's re accepts; regexp/syntax
# reports them as ErrInvalidPerlOp ("invalid or unsupported Perl syntax") and ErrInvalidEscape.
_RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]")


def _re2_problem(pattern: str) -> str:
    """What Go's regexp.Compile says of ``pattern`` (its syntax.Error text), or "" when it compiles."""
    m = _RE2_UNSUPPORTED.search(pattern)
    if m:
        code = "invalid escape sequence" if m.group().startswith("\\") else "invalid or unsupported Perl syntax"
        return f"error parsing regexp: {code}: `{m.group()}`"
    try:
        re.compile(pattern)
    except re.error as e:
        if "bad escape" in str(e):
            return ""  # \p{L}, \z, \Q...\E: RE2 escapes Python lacks; the server accepts them
        # syntax.ErrMissingParen / ErrUnexpectedParen name the whole expression.
        if "missing ), unterminated subpattern" in str(e):
            return f"error parsing regexp: missing closing ): `{pattern}`"
        if "unbalanced parenthesis" in str(e):
            return f"error parsing regexp: unexpected ): `{pattern}`"
        return f"error parsing regexp: {e}"  # Python's wording of what RE2 refuses too (unbalanced groups...)
    return ""


# validateNestedValueValidation: what a schema under anyOf/allOf/oneOf/not must not set.
_NESTED_FORBIDDEN = (
    ("type", "must be empty to be structural"),
    ("additionalProperties", "must be undefined to be structural"),
    ("default", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("nullable", "must be false to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-map-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"),
)


def _nested(v: Any, skip_any_of: bool, lvl: str, path: str) -> list[Cause]:
    if not isinstance(v, Mapping):
        return []
    errs = _value_validation(v, skip_any_of, False, lvl, path)
    if isinstance(v.get("items"), Mapping):
        errs += _nested(v["items"], False, lvl, f"{path}.items")
    for name, sub in (v.get("properties") or {}).items():
        errs += _nested(sub, False, _FIELD, _key(f"{path}.properties", name))
    for key, detail in _NESTED_FORBIDDEN:
        if v.get(key) not in (None, False, "", []):
            errs.append(_forbidden(f"{path}.{key}", detail))
    if "metadata" in (v.get("properties") or {}):
        errs.append(_forbidden(_key(f"{path}.properties", "metadata"), "must not be specified in a nested context"))
    return errs


def _completeness(s: Schema, s_path: str, v_path: str, v: Schema | None = None) -> list[Cause]:
    """complete.go: every field or array a value validation names is specified outside of it as well."""
    v = s if v is None else v
    errs: list[Cause] = []
    for junctor in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(v.get(junctor) or []):
            if isinstance(sub, Mapping):
                errs += _nested_completeness(sub, s, s_path, f"{v_path}.{junctor}[{i}]")
    if isinstance(v.get("not"), Mapping):
        errs += _nested_completeness(v["not"], s, s_path, f"{v_path}.not")
    return errs


def _nested_completeness(v: Schema, s: Schema | None, s_path: str, v_path: str) -> list[Cause]:
    if s is None:
        return [_required(s_path, f"because it is defined in {v_path}")]
    errs = _completeness(s, s_path, v_path, v)
    if isinstance(v.get("items"), Mapping):
        items = s.get("items")
        errs += _nested_completeness(v["items"], items if isinstance(items, Mapping) else None,
                                     f"{s_path}.items", f"{v_path}.items")
    s_props = s.get("properties") or {}
    for name, sub in (v.get("properties") or {}).items():
        if name not in s_props:
            errs.append(_required(_key(f"{s_path}.properties", name),
                                  f"because it is defined in {_key(f'{v_path}.properties', name)}"))
        elif isinstance(sub, Mapping):
            errs += _nested_completeness(sub, s_props[name], _key(f"{s_path}.properties", name),
                                         _key(f"{v_path}.properties", name))
    return errs


# --------------------------------------------------------------------------------------------------
# ValidateDefaults (pkg/apiserver/schema/defaulting/validation.go).
# --------------------------------------------------------------------------------------------------

def _default_errors(s: Schema, path: str, *, root_schema: Schema, inside_meta: bool) -> list[Cause]:
    errs: list[Cause] = []
    if s.get("x-kubernetes-embedded-resource"):
        inside_meta, root_schema = False, s
    if "default" in s and s["default"] is not None and not inside_meta:
        value = s["default"]
        # "check whether default is pruned": pruning.Prune(pruned, s, s.XEmbeddedResource), then
        # `if !reflect.DeepEqual(pruned, s.Default.Object)` -> "must not have unknown fields".
        pruned = copy.deepcopy(value)
        _prune_unknown(pruned, s, root=bool(s.get("x-kubernetes-embedded-resource")))
        if pruned != value:
            errs.append(_invalid(f"{path}.default", value, "must not have unknown fields"))
        # apiservervalidation.ValidateCustomResource(pth.Child("default"), s.Default.Object, validator), the
        # validator built from this node's schema with the strfmt.Default registry (formats included), and
        # then the node's CEL rules. kubeOpenAPIResultToFieldErrors: `errPath.Child(err.Name)`.
        for cause in structural.validate(value, s):
            field = f"{path}.default.{cause.field}" if cause.field else f"{path}.default"
            errs.append(Cause(cause.reason, field, cause.detail))
    # "do not follow additionalProperties because defaults are forbidden there"
    if isinstance(s.get("items"), Mapping):
        errs += _default_errors(s["items"], f"{path}.items", root_schema=root_schema, inside_meta=inside_meta)
    for name, sub in (s.get("properties") or {}).items():
        if isinstance(sub, Mapping):
            sub_meta = inside_meta or (bool(s.get("x-kubernetes-embedded-resource")) and name in _META_FIELDS)
            errs += _default_errors(sub, _key(f"{path}.properties", name), root_schema=root_schema,
                                    inside_meta=sub_meta)
    return errs


def _prune_unknown(value: Any, s: Schema, *, root: bool = False) -> None:
    """pruning/algorithm.go: drop the fields the schema does not specify (nulls are kept, unlike CR writes)."""
    if isinstance(value, dict):
        props: Mapping[str, Schema] = s.get("properties") or {}
        additional = s.get("additionalProperties")
        for key in list(value):
            if root and key in _META_FIELDS:
                continue
            sub = props.get(key)
            if sub is None and isinstance(additional, Mapping):
                sub = additional
            if sub is None:
                if not s.get("x-kubernetes-preserve-unknown-fields") and additional is not True:
                    del value[key]
            else:
                _prune_unknown(value[key], sub, root=bool(sub.get("x-kubernetes-embedded-resource")))
    elif isinstance(value, list) and isinstance(s.get("items"), Mapping):
        for item in value:
            _prune_unknown(item, s["items"], root=bool(s["items"].get("x-kubernetes-embedded-resource")))


# --------------------------------------------------------------------------------------------------
# ValidateCustomResourceDefinitionOpenAPISchema (validation.go), with the CEL compilation.
# --------------------------------------------------------------------------------------------------

def _openapi_errors(s: Schema, path: str, *, is_root: bool, forbid_defaults: str, forbid_old_self: str | None,
                    compile_rules: bool, inside_meta: bool = False) -> tuple[list[Cause], list[Cause]]:
    """Returns (SchemaErrors, CELErrors) of this node and below."""
    errs: list[Cause] = []
    cel_errs: list[Cause] = []
    errs += _standard(s, path, forbid_defaults, inside_meta)
    if s.get("uniqueItems"):
        errs.append(_forbidden(f"{path}.uniqueItems",
                               "uniqueItems cannot be set to true since the runtime complexity becomes quadratic"))
    # "additionalProperties and properties are mutual exclusive because otherwise they contradict
    #  Kubernetes' API convention to ignore unknown fields."
    additional = s.get("additionalProperties")
    props = s.get("properties") or {}
    if additional is not None:
        if props and additional is not True:
            errs.append(_forbidden(f"{path}.additionalProperties",
                                   "additionalProperties and properties are mutual exclusive"))
        if isinstance(additional, Mapping):
            sub_forbid = "inside additionalProperties applying to object metadata" if inside_meta else forbid_defaults
            a, b = _openapi_errors(additional, f"{path}.additionalProperties", is_root=False,
                                   forbid_defaults=sub_forbid, forbid_old_self=forbid_old_self,
                                   compile_rules=compile_rules, inside_meta=inside_meta)
            errs, cel_errs = errs + a, cel_errs + b
    map_correlatable = s.get("x-kubernetes-map-type") in (None, "granular")  # cel.MapIsCorrelatable
    for name, sub in props.items():
        if not isinstance(sub, Mapping):
            continue
        sub_old_self = forbid_old_self if (forbid_old_self or map_correlatable) else path
        sub_meta, sub_forbid = inside_meta, forbid_defaults
        if (is_root or s.get("x-kubernetes-embedded-resource")) and name in _META_FIELDS:
            sub_meta = True
            if is_root:
                sub_forbid = f"in top-level {name}"
        a, b = _openapi_errors(sub, _key(f"{path}.properties", name), is_root=False, forbid_defaults=sub_forbid,
                               forbid_old_self=sub_old_self, compile_rules=compile_rules, inside_meta=sub_meta)
        errs, cel_errs = errs + a, cel_errs + b
    for junctor in ("not", "allOf", "oneOf", "anyOf"):
        subs = s.get(junctor)
        for i, sub in enumerate([subs] if isinstance(subs, Mapping) else (subs or [])):
            if isinstance(sub, Mapping):
                sub_path = f"{path}.not" if junctor == "not" else f"{path}.{junctor}[{i}]"
                a, _ = _openapi_errors(sub, sub_path, is_root=False, forbid_defaults=forbid_defaults,
                                       forbid_old_self=forbid_old_self, compile_rules=False, inside_meta=inside_meta)
                errs += a
    items = s.get("items")
    if isinstance(items, Mapping):
        # "we can only correlate old/new items for "map" and "set" lists, and correlation of "set" elements
        #  by identity is not supported for cel (x-kubernetes-validations) rules."
        sub_old_self = forbid_old_self or (None if s.get("x-kubernetes-list-type") == "map" else path)
        a, b = _openapi_errors(items, f"{path}.items", is_root=False, forbid_defaults=forbid_defaults,
                               forbid_old_self=sub_old_self, compile_rules=compile_rules, inside_meta=inside_meta)
        errs, cel_errs = errs + a, cel_errs + b
    if s.get("x-kubernetes-preserve-unknown-fields") is False:
        errs.append(_invalid(f"{path}.x-kubernetes-preserve-unknown-fields", False, "must be true or undefined"))
    errs += _list_and_map_types(s, path)

    rules = s.get("x-kubernetes-validations") or []
    for i, rule in enumerate(rules):
        errs += _rule_shape(rule, f"{path}.x-kubernetes-validations[{i}]")
    # "If any schema related validation errors have been found at this level or deeper, skip CEL
    #  expression validation."
    if rules and not errs and compile_rules:
        for i, rule in enumerate(rules):
            cel_errs += _compile(rule, s, f"{path}.x-kubernetes-validations[{i}]", is_root, forbid_old_self)
    return errs, cel_errs


def _standard(s: Schema, path: str, forbid_defaults: str, inside_meta: bool) -> list[Cause]:
    """``specStandardValidatorV3.validate``."""
    errs: list[Cause] = []
    kind = s.get("type")
    if kind and kind not in _OPENAPI_TYPES and kind != "null":
        errs.append(_not_supported(f"{path}.type", kind, _OPENAPI_TYPES))
    if s.get("default") is not None and forbid_defaults:
        errs.append(_forbidden(f"{path}.default", f"must not be set {forbid_defaults}"))
    for key, detail in (("id", "id is not supported"), ("additionalItems", "additionalItems is not supported"),
                        ("patternProperties", "patternProperties is not supported"),
                        ("definitions", "definitions is not supported"),
                        ("dependencies", "dependencies is not supported"), ("$ref", "$ref is not supported")):
        if s.get(key):
            errs.append(_forbidden(f"{path}.{key}", detail))
    if kind == "null":
        errs.append(_forbidden(f"{path}.type", "type cannot be set to null, use nullable as an alternative"))
    if isinstance(s.get("items"), list):
        errs.append(_forbidden(f"{path}.items", "items must be a schema object and not an array"))
    if inside_meta and s.get("x-kubernetes-embedded-resource"):
        errs.append(_forbidden(f"{path}.x-kubernetes-embedded-resource", "must not be used inside of resource meta"))
    return errs


def _list_and_map_types(s: Schema, path: str) -> list[Cause]:
    """The x-kubernetes-map-type / list-type / list-map-keys rules of the same function."""
    errs: list[Cause] = []
    kind = s.get("type") or ""
    map_type = s.get("x-kubernetes-map-type")
    if map_type is not None:
        if kind != "object":
            errs.append(_required(f"{path}.type", "must be object if x-kubernetes-map-type is specified") if not kind
                        else _invalid(f"{path}.type", kind, "must be object if x-kubernetes-map-type is specified"))
        if map_type not in ("atomic", "granular"):
            errs.append(_not_supported(f"{path}.x-kubernetes-map-type", map_type, ["atomic", "granular"]))
    list_type = s.get("x-kubernetes-list-type")
    if list_type is not None:
        if kind != "array":
            errs.append(_required(f"{path}.type", "must be array if x-kubernetes-list-type is specified") if not kind
                        else _invalid(f"{path}.type", kind, "must be array if x-kubernetes-list-type is specified"))
        if list_type not in ("atomic", "set", "map"):
            errs.append(_not_supported(f"{path}.x-kubernetes-list-type", list_type, ["atomic", "set", "map"]))
    keys = s.get("x-kubernetes-list-map-keys") or []
    if keys and list_type != "map":
        errs.append(_required(f"{path}.x-kubernetes-list-type",
                              "must be map if x-kubernetes-list-map-keys is non-empty")
                    if list_type is None else
                    _invalid(f"{path}.x-kubernetes-list-type", list_type,
                             "must be map if x-kubernetes-list-map-keys is non-empty"))
    if list_type == "map":
        items = s.get("items")
        if not keys:
            errs.append(_required(f"{path}.x-kubernetes-list-map-keys",
                                  "must not be empty if x-kubernetes-list-type is map"))
        if not isinstance(items, Mapping):
            errs.append(_required(f"{path}.items", "must have a schema if x-kubernetes-list-type is map"))
        elif items.get("type") != "object":
            errs.append(_invalid(f"{path}.items.type", items.get("type") or "",
                                 "must be object if parent array's x-kubernetes-list-type is map"))
        elif keys and not set(keys) <= set(items.get("properties") or {}):
            errs.append(_invalid(f"{path}.x-kubernetes-list-map-keys", keys,
                                 "entries must all be names of item properties"))
    return errs


def _rule_shape(rule: Any, path: str) -> list[Cause]:
    """The x-kubernetes-validations entries' own fields (rule, message, reason, fieldPath)."""
    if not isinstance(rule, Mapping):
        return [_invalid(path, rule, "must be an object")]
    errs: list[Cause] = []
    text = str(rule.get("rule") or "").strip()
    message = str(rule.get("message") or "")
    if not text:
        errs.append(_required(f"{path}.rule", "rule is not specified"))
    elif message and not message.strip():
        errs.append(_invalid(f"{path}.message", message, "must be non-empty if specified"))
    elif "\n" in message.strip() or "\r" in message.strip():
        errs.append(_invalid(f"{path}.message", message, "must not contain line breaks"))
    elif ("\n" in text or "\r" in text) and not message.strip():
        errs.append(_required(f"{path}.message", "message must be specified if rule contains line breaks"))
    reason = rule.get("reason")
    if reason is not None and reason not in _RULE_REASONS:
        errs.append(_not_supported(f"{path}.reason", reason, _RULE_REASONS))
    field_path = rule.get("fieldPath")
    if isinstance(field_path, str) and field_path and not field_path.strip():
        errs.append(_invalid(f"{path}.fieldPath", field_path, "must be non-empty if specified"))
    return errs


def _rule_value(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The internal apiextensions.ValidationRule as field.Invalid prints it (json.Marshal, no json tags)."""
    return {"Rule": rule.get("rule", ""), "Message": rule.get("message", ""),
            "MessageExpression": rule.get("messageExpression", ""), "Reason": rule.get("reason"),
            "FieldPath": rule.get("fieldPath", ""), "OptionalOldSelf": rule.get("optionalOldSelf")}


def _go_struct_json(value: Mapping[str, Any]) -> str:
    # Go marshals struct fields in declaration order (no sorting), unlike maps.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _compile(rule: Mapping[str, Any], s: Schema, path: str, is_root: bool, forbid_old_self: str | None) -> list[Cause]:
    """compilation.go: ``"compilation failed: " + issues.String()``; a rule must evaluate to a bool."""
    text = str(rule.get("rule"))
    value = _go_struct_json(_rule_value(rule))
    rule_path = f"{path}.rule"
    try:
        compiled = cel.compile_rule(text)
    except cel.UnsupportedRule as e:
        # A real server compiles full CEL and the Kubernetes libraries; the sandbox refuses what cel-python cannot
        # compile rather than skip the rule (a skipped rule is silently not enforced in every test).
        return [Cause("FieldValueInvalid", rule_path,
                      f"Invalid value: {value}: compilation failed: ERROR: <input>: {e} (the sandbox compiles "
                      "CEL with cel-python and refuses a rule it cannot compile rather than not enforce it)")]
    problem = _TypeCheck(s, is_root).result_problem(compiled.ast)
    if problem is not None:
        return [Cause("FieldValueInvalid", rule_path, f"Invalid value: {value}: {problem}")]
    if compiled.is_transition and forbid_old_self is not None:
        return [_invalid(rule_path, text, "oldSelf cannot be used on the uncorrelatable portion of the schema "
                                          f"within {forbid_old_self}")]
    if not compiled.is_transition and rule.get("optionalOldSelf") is not None:
        return [_invalid(f"{path}.optionalOldSelf", rule["optionalOldSelf"],
                         "may not be set if oldSelf is not used in rule")]
    return []


class _TypeCheck:
    """The part of cel-go's type check that the schema decides: declared fields and the result type.

    ``self`` has the node's declared type (model/schemas.go ``SchemaDeclType``): an object with
    ``properties`` has exactly those fields, a map (``additionalProperties``) has string keys, an object with
    ``x-kubernetes-preserve-unknown-fields`` and no properties is dynamic; at the root, ``metadata`` has only
    ``name`` and ``generateName``.
    """

    _DYN: Schema = {}
    _BOOL: Schema = {"type": "boolean"}
    _ROOT_METADATA: Schema = {"type": "object", "properties": {"name": {"type": "string"},
                                                               "generateName": {"type": "string"}}}

    def __init__(self, s: Schema, is_root: bool) -> None:
        self.schema = s
        self.is_root = is_root

    def result_problem(self, ast: cel.Node) -> str | None:
        try:
            result = self.type_of(ast, {"self": self.schema, "oldSelf": self.schema})
        except _Undeclared as e:
            return f"compilation failed: ERROR: <input>: {e}"
        kind = result.get("type")
        if kind and kind != "boolean" and not result.get("x-kubernetes-int-or-string"):
            return "cel expression must evaluate to a bool"
        return None

    def field(self, base: Schema, name: str, at_root_self: bool) -> Schema:
        if at_root_self and name == "metadata":
            return self._ROOT_METADATA
        props = base.get("properties") or {}
        if name in props:
            return dict(props[name])
        additional = base.get("additionalProperties")
        if isinstance(additional, Mapping):
            return dict(additional)
        if base.get("type") == "object" and not base.get("x-kubernetes-preserve-unknown-fields") and (
                additional is not True):
            raise _Undeclared(f"undefined field '{name}'")
        return self._DYN

    def type_of(self, node: cel.Node, env: Mapping[str, Schema]) -> Schema:
        kind = node[0]
        if kind == "lit":
            value = node[1]
            return {"type": "boolean"} if isinstance(value, bool) else {
                "type": "integer" if isinstance(value, int) else "number" if isinstance(value, float)
                else "string" if isinstance(value, str) else ""}
        if kind == "var":
            if node[1] not in env:
                raise _Undeclared(f"undeclared reference to '{node[1]}' (in container '')")
            return env[node[1]]
        if kind == "field":
            base = self.type_of(node[1], env)
            at_root_self = self.is_root and node[1][0] == "var" and node[1][1] in ("self", "oldSelf")
            return self.field(base, node[2], at_root_self)
        if kind == "has":
            self.type_of(node[1], env)
            return self._BOOL
        if kind == "index":
            base = self.type_of(node[1], env)
            self.type_of(node[2], env)
            items = base.get("items") if base.get("type") == "array" else base.get("additionalProperties")
            return dict(items) if isinstance(items, Mapping) else self._DYN
        if kind == "macro":
            target = self.type_of(node[2], env)
            if target.get("type") == "array" and isinstance(target.get("items"), Mapping):
                element: Schema = target["items"]
            elif target.get("type") == "object":
                element = {"type": "string"}  # a map's macro variable is its key
            else:
                element = self._DYN
            self.type_of(node[4], {**env, node[3]: element})
            return self._BOOL
        if kind in ("not", "and", "or"):
            for child in node[1:]:
                self.type_of(child, env)
            return self._BOOL
        if kind == "bin":
            left, right = self.type_of(node[2], env), self.type_of(node[3], env)
            if node[1] in ("==", "!=", "<", "<=", ">", ">=", "in"):
                return self._BOOL
            return left if left.get("type") == right.get("type") else self._DYN
        if kind == "if":
            self.type_of(node[1], env)
            a, b = self.type_of(node[2], env), self.type_of(node[3], env)
            return a if a.get("type") == b.get("type") else self._DYN
        if kind == "neg":
            return self.type_of(node[1], env)
        if kind == "list":
            for item in node[1]:
                self.type_of(item, env)
            return {"type": "array"}
        if kind == "call":
            for arg in node[2]:
                self.type_of(arg, env)
            return {"size": {"type": "integer"}, "int": {"type": "integer"}, "double": {"type": "number"},
                    "string": {"type": "string"}}.get(node[1], self._DYN)
        if kind == "method":
            self.type_of(node[2], env)
            for arg in node[3]:
                self.type_of(arg, env)
            return {"type": "integer"} if node[1] == "size" else self._BOOL
        return self._DYN


class _Undeclared(Exception):
    pass
