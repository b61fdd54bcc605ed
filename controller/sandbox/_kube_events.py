"""The API server's validation of core/v1 Events, for the sandbox Kubernetes API.

kubernetes pkg/apis/core/validation/events.go: ``ValidateEventCreate`` and ``ValidateEventUpdate`` "Make sure
events always pass legacy validation" (``legacyValidateEvent``) and, for a request to the core ``v1`` API,
"No further validation for backwards compatibility". That legacy validation is what decides where the event
of a cluster-scoped object may live:

    // "New" Events need to have EventTime set, so it's validating old object.
    if event.EventTime.Time == zeroTime {
        // Make sure event.Namespace and the involvedInvolvedObject.Namespace agree
        if len(event.InvolvedObject.Namespace) == 0 {
            // event.Namespace must also be empty (or "default", for compatibility with old clients)
            if event.Namespace != metav1.NamespaceNone && event.Namespace != metav1.NamespaceDefault {
                allErrs = append(allErrs, field.Invalid(field.NewPath("involvedObject", "namespace"), ...,
                    "does not match event.namespace"))
        } else {
            // event namespace must match
            if event.Namespace != event.InvolvedObject.Namespace { ... "does not match event.namespace" }
    } else {
        if len(event.InvolvedObject.Namespace) == 0 && event.Namespace != metav1.NamespaceDefault &&
            event.Namespace != metav1.NamespaceSystem { ... "does not match event.namespace" }
        if len(event.ReportingController) == 0 { field.Required(field.NewPath("reportingController"), "") }
        for _, msg := range validation.IsQualifiedName(event.ReportingController) { ... }
        if len(event.ReportingInstance) == 0 { field.Required(field.NewPath("reportingInstance"), "") }
        if len(event.ReportingInstance) > ReportingInstanceLengthLimit { "can have at most %v characters" }
        if len(event.Action) == 0 { field.Required(field.NewPath("action"), "") }
        ... ActionLengthLimit, reason Required / ReasonLengthLimit, message NoteLengthLimit
    }

with ``ReportingInstanceLengthLimit = 128``, ``ActionLengthLimit = 128``, ``ReasonLengthLimit = 128``,
``NoteLengthLimit = 1024``, each checked with Go's ``len()``, which counts bytes (a message of 513 two-byte
letters is too long). (``reportingController`` is the core/v1 JSON field ``reportingComponent``.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from controller.api import schema as structural

__all__ = ["validate"]

REPORTING_INSTANCE_LIMIT = ACTION_LIMIT = REASON_LIMIT = 128
NOTE_LIMIT = 1024
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_QUALIFIED_NAME_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")


def _invalid(field: str, value: Any, detail: str) -> structural.Cause:
    return structural.Cause("FieldValueInvalid", field, f"Invalid value: {json.dumps(value)}: {detail}")


def _required(field: str) -> structural.Cause:
    return structural.Cause("FieldValueRequired", field, "Required value")


def _qualified_name_errors(value: str) -> list[str]:
    """apimachinery validation.IsQualifiedName, for names without a prefix (all an event needs)."""
    name = value.rsplit("/", 1)[-1]
    if not name:
        return ["name part must be non-empty"]
    errors = []
    if len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME.match(name):
        errors.append(_QUALIFIED_NAME_MESSAGE)
    return errors


def validate(event: Mapping[str, Any]) -> list[structural.Cause]:
    """legacyValidateEvent (the validation of an Event created or updated through the core v1 API)."""
    meta = event.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    involved_ns = str((event.get("involvedObject") or {}).get("namespace") or "")
    causes: list[structural.Cause] = []
    mismatch = _invalid("involvedObject.namespace", involved_ns, "does not match event.namespace")
    if not event.get("eventTime"):
        if (not involved_ns and namespace not in ("", "default")) or (involved_ns and namespace != involved_ns):
            causes.append(mismatch)
        return causes
    if not involved_ns and namespace not in ("default", "kube-system"):
        causes.append(mismatch)
    controller = str(event.get("reportingComponent") or "")
    if not controller:
        causes.append(_required("reportingController"))
    causes.extend(_invalid("reportingController", controller, msg) for msg in _qualified_name_errors(controller))
    for field, limit in (("reportingInstance", REPORTING_INSTANCE_LIMIT), ("action", ACTION_LIMIT),
                         ("reason", REASON_LIMIT)):
        value = str(event.get(field) or "")
        if not value:
            causes.append(_required(field))
        if len(value) > limit:
            causes.append(_invalid(field, "", f"can have at most {limit} characters"))
    if len(str(event.get("message") or "").encode("utf-8")) > NOTE_LIMIT:  # Go's len(string): bytes, not runes
        causes.append(_invalid("message", "", f"can have at most {NOTE_LIMIT} characters"))
    return causes
