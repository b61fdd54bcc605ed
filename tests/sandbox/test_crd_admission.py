"""The sandbox admits a CustomResourceDefinition as a real apiextensions-apiserver does.

A corpus of broken CRDs, each POSTed over HTTP and refused with 422 and the field path and message a real
server gives (controller/sandbox/crd_admission.py quotes the apiextensions-apiserver code each comes from);
the project's CRDs and kopf's peering CRD are accepted, and the project's old CRDs (``default: ''`` on a
``date-time``) are refused.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.api import crds as crdgen
from controller.api.models import KINDS
from controller.sandbox.kube import KubeSandbox
from controller.sandbox.kubeclient import KubeClient, KubeError

ROOT = Path(__file__).resolve().parents[2]
CRDS = "customresourcedefinitions"
NAME = "things.example.com"
SCHEMA = "spec.versions[0].schema.openAPIV3Schema"
SPEC = f"{SCHEMA}.properties[spec]"


def rule_json(rule: str) -> str:
    """The internal apiextensions.ValidationRule as field.Invalid prints it (json.Marshal; no json tags)."""
    return ('{"Rule":' + json.dumps(rule) + ',"Message":"","MessageExpression":"","Reason":null,"FieldPath":"",'
            '"OptionalOldSelf":null}')


@pytest.fixture(scope="module")
def api() -> Iterator[KubeClient]:
    """One API server for the module: a refused CRD leaves nothing behind, an accepted one is deleted."""
    sandbox = KubeSandbox([]).start()
    try:
        yield KubeClient(sandbox.url, group="apiextensions.k8s.io", version="v1")
    finally:
        sandbox.stop()


def thing_crd(spec_schema: dict[str, Any] | None = None, *, columns: list[dict[str, Any]] | None = None,
              root: dict[str, Any] | None = None) -> dict[str, Any]:
    """A small valid CRD; the arguments replace its spec schema, printer columns, or whole root schema."""
    spec = spec_schema if spec_schema is not None else {
        "type": "object",
        "properties": {"size": {"type": "integer", "default": 3}, "name": {"type": "string"}},
    }
    openapi = root if root is not None else {
        "type": "object",
        "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                       "metadata": {"type": "object"}, "spec": spec},
    }
    version: dict[str, Any] = {"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": openapi}}
    if columns is not None:
        version["additionalPrinterColumns"] = columns
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": NAME},
            "spec": {"group": "example.com", "scope": "Cluster",
                     "names": {"kind": "Thing", "plural": "things", "singular": "thing", "listKind": "ThingList"},
                     "versions": [version]}}


def obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


def rules(*texts: str, **props: Any) -> dict[str, Any]:
    return {**obj(**props), "x-kubernetes-validations": [{"rule": t} for t in texts]}


def refused(api: KubeClient, crd: dict[str, Any]) -> KubeError:
    """The 422 the CRD's creation met, or a failure (after deleting the CRD, for the next test's sake)."""
    try:
        api.create(crd, CRDS)
    except KubeError as e:
        assert e.status == 422 and e.reason == "Invalid", e
        with pytest.raises(KubeError) as gone:
            api.get(CRDS, crd["metadata"]["name"])
        assert gone.value.status == 404  # nothing was created
        return e
    api.delete(CRDS, crd["metadata"]["name"])
    pytest.fail(f"the CRD {crd['metadata']['name']} was accepted")


def refused_causes(api: KubeClient, crd: dict[str, Any]) -> list[dict[str, str]]:
    error = refused(api, crd)
    assert error.body["details"]["name"] == crd["metadata"]["name"]
    causes: list[dict[str, str]] = error.body["details"]["causes"]
    return causes


def with_(path: str, value: Any) -> Callable[[], dict[str, Any]]:
    """thing_crd() with one value (at a dotted path; None deletes it) changed."""
    def make() -> dict[str, Any]:
        crd = thing_crd()
        *parents, last = path.split(".")
        node = crd
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is None:
            del node[last]
        else:
            node[last] = value
        return crd
    return make


def without_pruning(crd: dict[str, Any]) -> dict[str, Any]:
    crd["spec"]["preserveUnknownFields"] = True
    return crd


DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
           "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
           "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")

# (id, CRD, field, message): the message is the cause's (the ErrorBody the server puts after the path).
CORPUS: list[tuple[str, Callable[[], dict[str, Any]], str, str]] = [
    # --- names, group, scope: validation.go ValidateCustomResourceDefinition(Spec|Names) -------------------
    ("name-not-plural-dot-group", with_("metadata.name", "thing.example.com"),
     "metadata.name", 'Invalid value: "thing.example.com": must be spec.names.plural+"."+spec.group'),
    ("group-without-dot", lambda: {**with_("spec.group", "example")(), "metadata": {"name": "things.example"}},
     "spec.group", 'Invalid value: "example": should be a domain with at least one dot'),
    ("scope-unknown", with_("spec.scope", "Global"),
     "spec.scope", 'Unsupported value: "Global": supported values: "Cluster", "Namespaced"'),
    ("scope-missing", with_("spec.scope", None), "spec.scope", "Required value"),
    ("preserve-unknown-fields-true", lambda: without_pruning(thing_crd(obj(name={"type": "string"}))),
     "spec.preserveUnknownFields",
     "Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-fields to true in "
     "spec.versions[*].schema instead"),
    ("version-without-schema", with_("spec.versions.0.schema", None),
     "spec.versions[0].schema.openAPIV3Schema", "Required value"),
    ("version-name-not-a-label", with_("spec.versions.0.name", "V1"),
     "spec.versions[0].name", f'Invalid value: "V1": {DNS1035}'),
    ("kind-with-underscore", with_("spec.names.kind", "Big_Thing"),
     "spec.names.kind", f'Invalid value: "Big_Thing": may have mixed case, but should otherwise match: {DNS1035}'),
    ("short-name-upper-case", with_("spec.names.shortNames", ["TH"]),
     "spec.names.shortNames[0]", f'Invalid value: "TH": {DNS1035}'),
    # --- structural schema: schema/validation.go validateStructuralInvariants -----------------------------
    ("field-without-type", lambda: thing_crd(obj(size={"minimum": 1})),
     f"{SPEC}.properties[size].type", "Required value: must not be empty for specified object fields"),
    ("items-without-type", lambda: thing_crd(obj(ids={"type": "array", "items": {"maxLength": 3}})),
     f"{SPEC}.properties[ids].items.type", "Required value: must not be empty for specified array items"),
    ("array-without-items", lambda: thing_crd(obj(ids={"type": "array"})),
     f"{SPEC}.properties[ids].items", "Required value: must be specified"),
    ("root-without-type", lambda: thing_crd(root={"properties": {"spec": {"type": "object"}}}),
     f"{SCHEMA}.type", "Required value: must not be empty at the root"),
    ("root-not-object", lambda: thing_crd(root={"type": "string"}),
     f"{SCHEMA}.type", 'Invalid value: "string": must be object at the root'),
    ("metadata-beyond-name", lambda: thing_crd(root=obj(metadata=obj(labels={"type": "object"}))),
     f"{SCHEMA}.properties[metadata]",
     "Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"),
    ("metadata-not-object", lambda: thing_crd(root=obj(metadata={"type": "string"})),
     f"{SCHEMA}.properties[metadata].type", 'Invalid value: "string": must be object'),
    ("type-inside-anyOf", lambda: thing_crd(obj(size={"type": "integer", "anyOf": [{"type": "integer"}]})),
     f"{SPEC}.properties[size].anyOf[0].type", "Forbidden: must be empty to be structural"),
    ("property-only-in-allOf", lambda: thing_crd(root={**obj(spec={"type": "object"}),
                                                       "allOf": [{"properties": {"extra": {"maxLength": 3}}}]}),
     f"{SCHEMA}.properties[extra]", f"Required value: because it is defined in {SCHEMA}.allOf[0].properties[extra]"),
    ("int-or-string-with-preserve", lambda: thing_crd(obj(port={"x-kubernetes-int-or-string": True,
                                                               "x-kubernetes-preserve-unknown-fields": True})),
     f"{SPEC}.properties[port].x-kubernetes-preserve-unknown-fields",
     "Invalid value: true: must be false if x-kubernetes-int-or-string is true"),
    ("pattern-with-lookahead", lambda: thing_crd(obj(a={"type": "string", "pattern": "^(?!kube-)"})),
     f"{SPEC}.properties[a].pattern", 'Invalid value: "^(?!kube-)": must be a valid regular expression, but '
     "isn't: error parsing regexp: invalid or unsupported Perl syntax: `(?!`"),
    ("pattern-unbalanced", lambda: thing_crd(obj(a={"type": "string", "pattern": "^(r|ou-"})),
     f"{SPEC}.properties[a].pattern", 'Invalid value: "^(r|ou-": must be a valid regular expression, but '
     "isn't: error parsing regexp: missing closing ): `^(r|ou-`"),
    # --- the OpenAPI schema: validation.go ValidateCustomResourceDefinitionOpenAPISchema -------------------
    ("additionalProperties-beside-properties",
     lambda: thing_crd({**obj(a={"type": "string"}), "additionalProperties": {"type": "string"}}),
     f"{SPEC}.additionalProperties", "Forbidden: additionalProperties and properties are mutual exclusive"),
    ("preserve-unknown-fields-false",
     lambda: thing_crd({**obj(a={"type": "string"}), "x-kubernetes-preserve-unknown-fields": False}),
     f"{SPEC}.x-kubernetes-preserve-unknown-fields", "Invalid value: false: must be true or undefined"),
    ("unknown-type", lambda: thing_crd(obj(a={"type": "int"})),
     f"{SPEC}.properties[a].type",
     'Unsupported value: "int": supported values: "array", "boolean", "integer", "number", "object", "string"'),
    ("ref", lambda: thing_crd(obj(a={"type": "object", "$ref": "#/definitions/a"})),
     f"{SPEC}.properties[a].$ref", "Forbidden: $ref is not supported"),
    ("uniqueItems", lambda: thing_crd(obj(a={"type": "array", "items": {"type": "string"}, "uniqueItems": True})),
     f"{SPEC}.properties[a].uniqueItems",
     "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic"),
    ("default-in-root-metadata", lambda: thing_crd(root=obj(metadata={"type": "object", "default": {}})),
     f"{SCHEMA}.properties[metadata].default", "Forbidden: must not be set in top-level metadata"),
    ("list-type-on-object", lambda: thing_crd(obj(a={"type": "object", "x-kubernetes-list-type": "set"})),
     f"{SPEC}.properties[a].type", 'Invalid value: "object": must be array if x-kubernetes-list-type is specified'),
    # --- defaults: defaulting/validation.go ValidateDefaults, kube-openapi formats ------------------------
    ("default-not-a-date-time", lambda: thing_crd(obj(at={"type": "string", "format": "date-time", "default": ""})),
     f"{SPEC}.properties[at].default", 'Invalid value: "":  in body must be of type date-time: ""'),
    ("default-date-time-without-zone",
     lambda: thing_crd(obj(at={"type": "string", "format": "date-time", "default": "2026-01-02T03:04:05"})),
     f"{SPEC}.properties[at].default",
     'Invalid value: "2026-01-02T03:04:05":  in body must be of type date-time: "2026-01-02T03:04:05"'),
    ("default-not-an-email", lambda: thing_crd(obj(mail={"type": "string", "format": "email", "default": "nobody"})),
     f"{SPEC}.properties[mail].default", 'Invalid value: "nobody":  in body must be of type email: "nobody"'),
    ("default-beyond-int32",
     lambda: thing_crd(obj(n={"type": "integer", "format": "int32", "default": 2147483648})),
     f"{SPEC}.properties[n].default", 'Invalid value: "": Checked value must be of type integer with format int32 in '),
    ("default-above-maximum", lambda: thing_crd(obj(n={"type": "integer", "maximum": 10, "default": 20})),
     f"{SPEC}.properties[n].default", "Invalid value: 20:  in body should be less than or equal to 10"),
    ("default-not-in-enum", lambda: thing_crd(obj(mode={"type": "string", "enum": ["Fast", "Slow"],
                                                        "default": "Medium"})),
     f"{SPEC}.properties[mode].default", 'Unsupported value: "Medium": supported values: "Fast", "Slow"'),
    ("default-of-wrong-type", lambda: thing_crd(obj(n={"type": "integer", "default": "3"})),
     f"{SPEC}.properties[n].default", 'Invalid value: "string":  in body must be of type integer: "string"'),
    ("default-nested-field-invalid",
     lambda: thing_crd(obj(o={"type": "object", "default": {"at": "yesterday"},
                              "properties": {"at": {"type": "string", "format": "date"}}})),
     f"{SPEC}.properties[o].default.at", 'Invalid value: "yesterday": at in body must be of type date: "yesterday"'),
    ("default-not-pruned",
     lambda: thing_crd(obj(o={"type": "object", "default": {"retries": 2, "unknown": True},
                              "properties": {"retries": {"type": "integer"}}})),
     f"{SPEC}.properties[o].default", 'Invalid value: {"retries":2,"unknown":true}: must not have unknown fields'),
    ("default-breaks-its-rule",
     lambda: thing_crd(obj(n={"type": "integer", "default": 0,
                              "x-kubernetes-validations": [{"rule": "self > 0", "message": "must be positive"}]})),
     f"{SPEC}.properties[n].default", 'Invalid value: "integer": must be positive'),
    # --- CEL: schema/cel/compilation.go; a rule the sandbox cannot compile refuses the CRD ----------------
    ("cel-syntax-error", lambda: thing_crd(rules("self.size >", size={"type": "integer"})),
     f"{SPEC}.x-kubernetes-validations[0].rule",
     f"Invalid value: {rule_json('self.size >')}: compilation failed: ERROR: <input>: "),
    ("cel-undefined-field", lambda: thing_crd(rules("self.nmae != ''", name={"type": "string"})),
     f"{SPEC}.x-kubernetes-validations[0].rule",
     "Invalid value: " + rule_json("self.nmae != ''") + ": "
     "compilation failed: ERROR: <input>: undefined field 'nmae'"),
    ("cel-undeclared-reference", lambda: thing_crd(rules("size(spec.name) > 0", name={"type": "string"})),
     f"{SPEC}.x-kubernetes-validations[0].rule",
     f"Invalid value: {rule_json('size(spec.name) > 0')}: compilation failed: ERROR: <input>: "
     "undeclared reference to 'spec' (in container '')"),
    ("cel-not-a-bool", lambda: thing_crd(rules("self.name", name={"type": "string"})),
     f"{SPEC}.x-kubernetes-validations[0].rule",
     f"Invalid value: {rule_json('self.name')}: cel expression must evaluate to a bool"),
    ("cel-root-metadata-labels", lambda: thing_crd(root=rules("has(self.metadata.labels)",
                                                              metadata={"type": "object"})),
     f"{SCHEMA}.x-kubernetes-validations[0].rule",
     f"Invalid value: {rule_json('has(self.metadata.labels)')}: compilation failed: ERROR: "
     "<input>: undefined field 'labels'"),
    # A Kubernetes library function cel-python lacks is refused rather than left unenforced (cel.K8S_ONLY_FUNCTIONS).
    ("cel-beyond-cel-python",
     lambda: thing_crd(rules("self.name.lowerAscii() == 'a'", name={"type": "string"})),
     f"{SPEC}.x-kubernetes-validations[0].rule",
     "Invalid value: " + rule_json("self.name.lowerAscii() == 'a'") + ": compilation "
     "failed: ERROR: <input>: undeclared reference to 'lowerAscii' (a Kubernetes CEL library function that "
     "cel-python lacks: provide it in controller/api/cel.py first) (the sandbox compiles CEL with cel-python "
     "and refuses a rule it cannot compile rather than not enforce it)"),
    ("cel-undeclared-function",
     lambda: thing_crd(rules("self.name.frobnicate()", name={"type": "string"})),
     f"{SPEC}.x-kubernetes-validations[0].rule",
     f"Invalid value: {rule_json('self.name.frobnicate()')}: compilation failed: ERROR: <input>: undeclared "
     "reference to 'frobnicate' (in container '') (the sandbox compiles CEL with cel-python and refuses a rule "
     "it cannot compile rather than not enforce it)"),
    ("cel-oldSelf-in-an-atomic-list",
     lambda: thing_crd(obj(ids={"type": "array", "items": {
         "type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}})),
     f"{SPEC}.properties[ids].items.x-kubernetes-validations[0].rule",
     'Invalid value: "self == oldSelf": oldSelf cannot be used on the uncorrelatable portion of the schema '
     f"within {SPEC}.properties[ids]"),
    ("cel-empty-rule", lambda: thing_crd(rules("  ", name={"type": "string"})),
     f"{SPEC}.x-kubernetes-validations[0].rule", "Required value: rule is not specified"),
    ("cel-unknown-reason",
     lambda: thing_crd({**obj(name={"type": "string"}),
                        "x-kubernetes-validations": [{"rule": "true", "reason": "Nope"}]}),
     f"{SPEC}.x-kubernetes-validations[0].reason",
     'Unsupported value: "Nope": supported values: "FieldValueDuplicate", "FieldValueForbidden", '
     '"FieldValueInvalid", "FieldValueRequired"'),
    # --- printer columns: validation.go ValidateCustomResourceColumnDefinition, validateSimpleJSONPath ----
    ("column-path-without-dot", lambda: thing_crd(columns=[{"name": "Size", "type": "integer",
                                                           "jsonPath": "spec.size"}]),
     "spec.versions[0].additionalPrinterColumns[0].JSONPath",
     'Invalid value: "spec.size": must be a simple json path starting with .'),
    ("column-without-path", lambda: thing_crd(columns=[{"name": "Size", "type": "integer"}]),
     "spec.versions[0].additionalPrinterColumns[0].JSONPath", "Required value"),
    ("column-unknown-type", lambda: thing_crd(columns=[{"name": "Size", "type": "int", "jsonPath": ".spec.size"}]),
     "spec.versions[0].additionalPrinterColumns[0].type",
     'Invalid value: "int": must be one of boolean,date,integer,number,string'),
    ("column-unknown-format", lambda: thing_crd(columns=[{"name": "Size", "type": "integer", "format": "big",
                                                         "jsonPath": ".spec.size"}]),
     "spec.versions[0].additionalPrinterColumns[0].format",
     'Invalid value: "big": must be one of byte,date,date-time,double,float,int32,int64,password'),
    ("column-path-does-not-parse",
     lambda: thing_crd(columns=[{"name": "Ready", "type": "string",
                                 "jsonPath": '.status.conditions[?(@.type=="Ready")'}]),
     "spec.versions[0].additionalPrinterColumns[0].JSONPath",
     'Invalid value: ".status.conditions[?(@.type==\\"Ready\\")": unrecognized column definition '
     '".status.conditions[?(@.type==\\"Ready\\")" (a real server accepts this CRD, then answers 500 "the '
     'server could not properly serve the CR columns")'),
]


@pytest.mark.parametrize(("make", "field", "message"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_a_broken_crd_is_refused_with_the_servers_message(api: KubeClient, make: Callable[[], dict[str, Any]],
                                                         field: str, message: str) -> None:
    causes = refused_causes(api, make())
    assert [c["field"] for c in causes] == [field], causes
    if message.endswith(": ") and "compilation failed" in message:
        assert causes[0]["message"].startswith(message), causes  # cel-go's syntax errors differ in wording
    else:
        assert causes[0]["message"] == message, causes


def test_the_projects_old_crds_with_default_empty_date_time_are_refused(api: KubeClient) -> None:
    """What `kubectl apply -f deploy/crds/` met on a real cluster before the default was removed."""
    for info in KINDS:
        crd = crdgen.crd(info)
        conditions = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
        conditions["properties"]["conditions"]["items"]["properties"]["lastTransitionTime"]["default"] = ""
        error = refused(api, crd)
        field = (f"{SCHEMA}.properties[status].properties[conditions].items.properties[lastTransitionTime]"
                 ".default")
        assert error.message == (f'CustomResourceDefinition.apiextensions.k8s.io "{info.plural}.awsorg.gitops.dev"'
                                     f' is invalid: {field}: Invalid value: "":  in body must be of type date-time: ""')


def _crd_files() -> list[Path]:
    return [*sorted((ROOT / "deploy" / "crds").glob("*.yaml")), ROOT / "deploy" / "kopf-peering.yaml"]


def test_the_projects_crds_and_kopfs_peering_crd_are_accepted(api: KubeClient) -> None:
    docs = [d for path in _crd_files() for d in yaml.safe_load_all(path.read_text())
            if d and d.get("kind") == "CustomResourceDefinition"]
    assert len(docs) == len(KINDS) + 1
    for crd in docs:
        created = api.create(crd, CRDS)
        assert created["metadata"]["name"] == crd["metadata"]["name"]
        api.delete(CRDS, crd["metadata"]["name"])


@pytest.mark.parametrize("schema", [
    obj(port={"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}),
    obj(free={"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
    obj(free={"x-kubernetes-preserve-unknown-fields": True}),
    obj(tags={"type": "object", "additionalProperties": {"type": "string"}}),
    obj(word={"type": "string", "pattern": "^\\p{L}+\\z"}),
    obj(at={"type": "string", "format": "date-time", "default": "2026-01-02T03:04:05Z"},
        mail={"type": "string", "format": "email", "default": "Ops <ops@example.com>"},
        n={"type": "integer", "format": "int32", "default": 2147483647},
        o={"type": "object", "default": {}, "properties": {"retries": {"type": "integer", "default": 2}}}),
    rules("self.ids.all(i, size(i) < 3) && (!has(self.name) || self.name != '')",
          ids={"type": "array", "items": {"type": "string"}}, name={"type": "string"}),
    obj(items={"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
               "items": {"type": "object", "required": ["name"], "properties": {
                   "name": {"type": "string"},
                   "v": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf"}]}}}}),
], ids=["int-or-string", "preserve-object", "preserve-untyped", "map", "re2-escapes", "valid-defaults", "cel",
        "map-list-oldSelf"])
def test_valid_schemas_are_accepted(api: KubeClient, schema: dict[str, Any]) -> None:
    api.create(thing_crd(schema), CRDS)
    api.delete(CRDS, NAME)


def test_root_metadata_may_restrict_name_and_generate_name(api: KubeClient) -> None:
    root = obj(metadata=obj(name={"type": "string", "maxLength": 10}, generateName={"type": "string"}),
               spec={"type": "object"})
    api.create(thing_crd(root=root), CRDS)
    api.delete(CRDS, NAME)


def test_an_update_that_breaks_the_schema_is_refused_and_changes_nothing(api: KubeClient) -> None:
    api.create(thing_crd(), CRDS)
    try:
        bad = {"spec": {"versions": [copy.deepcopy(thing_crd()["spec"]["versions"][0])]}}
        bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["size"][
            "default"] = "three"
        with pytest.raises(KubeError) as exc:
            api.patch(CRDS, NAME, bad)
        assert exc.value.status == 422
        assert exc.value.body["details"]["causes"][0]["field"] == f"{SPEC}.properties[size].default"
        stored = api.get(CRDS, NAME)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
        assert stored["properties"]["spec"]["properties"]["size"]["default"] == 3
    finally:
        api.delete(CRDS, NAME)


def test_scope_kind_group_and_plural_are_immutable(api: KubeClient) -> None:
    api.create(thing_crd(), CRDS)
    try:
        with pytest.raises(KubeError) as exc:
            api.patch(CRDS, NAME, {"spec": {"scope": "Namespaced", "names": {"kind": "Item"}}})
        assert exc.value.status == 422
        assert [(c["field"], c["message"]) for c in exc.value.body["details"]["causes"]] == [
            ("spec.scope", 'Invalid value: "Namespaced": field is immutable'),
            ("spec.names.kind", 'Invalid value: "Item": field is immutable')]
        assert api.get(CRDS, NAME)["spec"]["scope"] == "Cluster"
    finally:
        api.delete(CRDS, NAME)


def test_preserve_unknown_fields_with_defaults_is_refused_twice(api: KubeClient) -> None:
    causes = refused_causes(api, without_pruning(thing_crd()))  # thing_crd's spec.size has a default
    assert [(c["field"], c["message"]) for c in causes] == [
        ("spec.preserveUnknownFields", "Invalid value: true: must be false in order to use defaults in the schema"),
        ("spec.preserveUnknownFields", "Invalid value: true: cannot set to true, set x-kubernetes-preserve-unknown-"
                                       "fields to true in spec.versions[*].schema instead")]
