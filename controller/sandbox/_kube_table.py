"""``meta.k8s.io/v1`` Table rendering from CRD ``additionalPrinterColumns`` (as kubectl asks for it)."""

from __future__ import annotations

import datetime
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.ext.parser import parse as parse_jsonpath

__all__ = ["human_duration", "jsonpath", "parse_accept", "to_table"]

NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace. Is required when creating resources, although "
                   "some resources may allow a client to request the generation of an appropriate name "
                   "automatically. Name is primarily intended for creation idempotence and configuration "
                   "definition. Cannot be updated. More info: "
                   "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
    "priority": 0,
}
AGE_COLUMN = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def parse_accept(accept: str) -> tuple[str, str] | None:
    """Return ``("Table", version)`` or ``("PartialObjectMetadata", version)`` if the Accept asks so."""
    for media in accept.split(","):
        parts = [p.strip() for p in media.split(";")]
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        wanted = ("Table", "PartialObjectMetadata", "PartialObjectMetadataList")
        if params.get("g") == "meta.k8s.io" and params.get("as") in wanted and params.get("v") in ("v1", "v1beta1"):
            return params["as"].removesuffix("List"), params["v"]
        if parts[0] in ("application/json", "*/*", "application/*") and not params.get("as"):
            return None
    return None


# ---------------------------------------------------------------------------------------------
# JSONPath, as CRD printer columns and kubectl use it: jsonpath-ng's extended parser (filters too).
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=256)
def _compiled(expr: str) -> JSONPath:
    expr = expr.strip()
    if expr.startswith("{") and expr.endswith("}"):
        expr = expr[1:-1].strip()
    expr = expr.removeprefix("$")
    try:
        return parse_jsonpath("$" + expr)
    except JSONPathError as e:
        raise ValueError(f"unsupported JSONPath {expr!r}: {e}") from None


def jsonpath(obj: Any, expr: str) -> list[Any]:
    """Evaluate a kubectl JSONPath (``.a.b``, ``[0]``, ``[*]``, ``[?(@.k=="v")]``); return all results.

    Raises ``ValueError`` for an expression that does not parse.
    """
    return [match.value for match in _compiled(expr).find(obj)]


def human_duration(seconds: float) -> str:
    """Kubernetes' ``duration.HumanDuration`` (what the API server puts in ``date`` cells)."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        return f"{minutes}m" if secs % 60 == 0 else f"{minutes}m{secs % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y" if days == 0 else f"{years}y{days}d"
    return f"{hours // 24 // 365}y"


def _age(value: str) -> str:
    try:
        then = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    if then.tzinfo is None:
        then = then.replace(tzinfo=datetime.UTC)
    return human_duration((datetime.datetime.now(datetime.UTC) - then).total_seconds())


def _cell(column: Mapping[str, Any], obj: Mapping[str, Any]) -> Any:
    try:
        results = jsonpath(obj, column.get("jsonPath", ""))
    except ValueError:
        return None
    if not results or results[0] is None:
        return None
    value = results[0]
    kind = column.get("type", "string")
    if kind == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str) and not column.get("x-sandbox-raw"):
        return _age(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def _column_definition(column: Mapping[str, Any]) -> dict[str, Any]:
    description = column.get("description") or (
        f"Custom resource definition column (in JSONPath format): {column.get('jsonPath', '')}")
    return {
        "name": column.get("name", ""),
        "type": column.get("type", "string"),
        "format": column.get("format", ""),
        "description": description,
        "priority": int(column.get("priority", 0)),
    }


def to_table(
    objects: Sequence[Mapping[str, Any]],
    columns: Sequence[Mapping[str, Any]] | None,
    *,
    resource_version: str,
    include_object: str = "Metadata",
    version: str = "v1",
    with_definitions: bool = True,
) -> dict[str, Any]:
    """Render objects as a Table; ``columns`` are CRD ``additionalPrinterColumns`` (None: Name + Age)."""
    cols = list(columns) if columns else [AGE_COLUMN]
    rows: list[dict[str, Any]] = []
    for obj in objects:
        meta = obj.get("metadata") or {}
        row: dict[str, Any] = {"cells": [meta.get("name")] + [_cell(col, obj) for col in cols]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": f"meta.k8s.io/{version}",
                "metadata": meta,
            }
        rows.append(row)
    table: dict[str, Any] = {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [NAME_COLUMN] + [_column_definition(c) for c in cols] if with_definitions else [],
        "rows": rows,
    }
    return table
