"""Generate the CustomResourceDefinitions from the pydantic models.

The CRDs in ``crds/`` are this module's output (``awsorg crds --out crds/``); a test fails when the
committed files differ from what the models generate.  The conversion turns pydantic's JSON Schema into
a Kubernetes *structural* schema: ``$ref`` inlined, ``Optional`` unwrapped, no ``title``/``null``,
free-form objects marked ``x-kubernetes-preserve-unknown-fields``.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from controller.api.models import CATEGORY, GROUP, KINDS, VERSION, KindInfo

_DROP = {"title", "additionalProperties", "propertyNames", "$defs", "const"}
_KEEP_SCALARS = {
    "type",
    "description",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "maxProperties",
    "format",
    "default",
    "x-kubernetes-validations",
    "x-kubernetes-preserve-unknown-fields",
}


def _with_default(description: str, value: Any) -> str:
    """The description with the default said in words: `kubectl explain` shows a field's description and enum,
    never its schema's ``default``."""
    if isinstance(value, bool):
        shown = "true" if value else "false"
    elif value == "":
        shown = '""'
    else:
        shown = str(value)
    suffix = f"Default: {shown}."
    if description.endswith(suffix):
        return description
    return f"{description} {suffix}" if description else suffix


# What the API server's own kinds say of these fields (k8s.io/apimachinery TypeMeta), so that `kubectl explain`
# shows them for our kinds too. Not metadata: a CRD's schema may say nothing of it but name and generateName
# (apiextensions-apiserver refuses the CRD otherwise); the server publishes ObjectMeta's own schema for it.
_API_VERSION = ("APIVersion defines the versioned schema of this representation of an object. Servers should "
                "convert recognized schemas to the latest internal value, and may reject unrecognized values.")
_KIND = ("Kind is a string value representing the REST resource this object represents. Servers may infer this "
         "from the endpoint the client submits requests to. Cannot be updated. In CamelCase.")


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        merged: dict[str, Any] = copy.deepcopy(defs[name])
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        return merged
    return node


def _structural(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    node = _resolve(node, defs)
    any_of = node.get("anyOf")
    if any_of is not None:
        non_null = [s for s in any_of if s.get("type") != "null"]
        if len(non_null) != 1:
            raise ValueError(f"cannot express anyOf {any_of!r} in a structural schema")
        inner = _structural(non_null[0], defs)
        for key in ("description", "default", "format"):
            if key in node and node[key] is not None:
                inner[key] = node[key]
        if "default" in inner:
            inner["description"] = _with_default(inner.get("description", ""), inner["default"])
        if "x-kubernetes-validations" in node:
            inner["x-kubernetes-validations"] = node["x-kubernetes-validations"]
        return inner

    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _KEEP_SCALARS:
            if key == "default" and value is None:
                continue
            out[key] = copy.deepcopy(value)
    if "default" in out:
        out["description"] = _with_default(out.get("description", ""), out["default"])
    if node.get("type") == "object":
        props = node.get("properties")
        extra = node.get("additionalProperties")
        if props:
            out["properties"] = {name: _structural(sub, defs) for name, sub in props.items()}
            required = node.get("required")
            if required:
                out["required"] = list(required)
        elif isinstance(extra, dict) and extra:
            out["additionalProperties"] = _structural(extra, defs)
            # A map's keys have no schema in Kubernetes (no propertyNames): the model states their rules as CEL
            # (x-kubernetes-validations, e.g. models.TAG_KEY_RULES).
        else:
            out["x-kubernetes-preserve-unknown-fields"] = True
    if node.get("type") == "array" and "items" in node:
        out["items"] = _structural(node["items"], defs)
    return out


def openapi_schema(model: type[Any]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of a pydantic model, with aliases (camelCase) as names."""
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="validation")
    return _structural(schema, schema.get("$defs", {}))


def crd(info: KindInfo) -> dict[str, Any]:
    spec_schema = openapi_schema(info.spec)
    status_schema = openapi_schema(info.status)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{info.plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Cluster",
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.singular,
                "shortNames": list(info.short_names),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": copy.deepcopy(info.printer_columns),
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": (info.spec.__doc__ or info.kind).strip().splitlines()[0],
                            "required": ["spec"],
                            **({"x-kubernetes-validations": copy.deepcopy(info.root_validations)}
                               if info.root_validations else {}),
                            "properties": {
                                "apiVersion": {"type": "string", "description": _API_VERSION},
                                "kind": {"type": "string", "description": _KIND},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                        }
                    },
                }
            ],
        },
    }


def all_crds() -> list[dict[str, Any]]:
    return [crd(info) for info in KINDS]


def crd_filename(info: KindInfo) -> str:
    return f"{GROUP}_{info.plural}.yaml"


def render(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, width=120)


def render_all() -> str:
    return "---\n".join(render(d) for d in all_crds())


def files() -> dict[str, str]:
    """File name -> content, as committed under ``crds/``."""
    header = "# Generated by `awsorg crds --out crds/` from controller/api/models.py. Do not edit.\n"
    return {crd_filename(info): header + render(crd(info)) for info in KINDS}
