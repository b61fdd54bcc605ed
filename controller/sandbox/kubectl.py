"""What ``kubectl get`` prints for a list of custom resources: the demo's view of the sandbox.

The columns are the CRD's printer columns (those of priority 0), evaluated with the same JSONPath
implementation as the sandbox API server's ``meta.k8s.io/v1`` Tables.
"""

from __future__ import annotations

import datetime
from typing import Any

from controller.api.models import KindInfo
from controller.sandbox._kube_table import jsonpath

__all__ = ["format_table"]


def _first(obj: Any, path: str) -> Any:
    """The first value a printer column's JSONPath finds (as kubectl shows it), or None."""
    found = jsonpath(obj, path)
    return found[0] if found else None


def _age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    then = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    secs = int((datetime.datetime.now(datetime.UTC) - then).total_seconds())
    if secs < 120:
        return f"{secs}s"
    if secs < 7200:
        return f"{secs // 60}m"
    return f"{secs // 3600}h"


def format_table(info: KindInfo, items: list[dict[str, Any]]) -> str:
    columns = [c for c in info.printer_columns if not c.get("priority")]
    header = ["NAME"] + [c["name"].upper() for c in columns]
    rows = []
    for obj in sorted(items, key=lambda o: o["metadata"]["name"]):
        row = [obj["metadata"]["name"]]
        for col in columns:
            value = _first(obj, col["jsonPath"])
            if col["type"] == "date":
                row.append(_age(value))
            elif isinstance(value, list):
                row.append(",".join(str(v) for v in value) or "<none>")
            else:
                row.append("<none>" if value is None else str(value))
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join("   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                     for r in [header, *rows])
