"""The API server's generic request rules, for the sandbox Kubernetes API (:mod:`controller.sandbox.kube`).

Each rule is the one a real API server applies, with its wording, and names the source it follows:

- object metadata: label keys and values, annotation keys and their total size, finalizer names, and
  no new finalizers on an object being deleted (apimachinery ``pkg/api/validation/objectmeta.go``);
- ``PUT`` of a custom resource without ``metadata.resourceVersion`` (apiserver ``registry/generic/registry/
  store.go``, the custom resource strategy's ``AllowUnconditionalUpdate() == false``);
- field selectors: only the fields a resource supports (``ConvertFieldLabel``);
- list and watch options: ``sendInitialEvents`` and ``resourceVersionMatch``
  (apimachinery ``pkg/apis/meta/internalversion/validation/validation.go``).

The functions here return :class:`~controller.api.schema.Cause` lists or raise :class:`SelectorError`;
``kube.py`` turns them into the HTTP answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from controller.api.schema import Cause

__all__ = ["ANNOTATIONS_MAX_BYTES", "BOOKMARK_SECONDS", "SelectorError", "field_selector", "field_values",
           "list_options_causes", "manager_from_user_agent", "metadata_causes", "missing_resource_version",
           "write_options_causes"]

# apimachinery pkg/api/validation/objectmeta.go:
#     const TotalAnnotationSizeLimitB int = 256 * (1 << 10) // 256 kB
ANNOTATIONS_MAX_BYTES = 256 * (1 << 10)

# apiserver pkg/storage/cacher/cacher.go:
#     // bookmarkFrequency defines how frequently watch bookmarks should be send
#     // in addition to sending a bookmark right before watch deadline.
#     bookmarkFrequency = time.Minute
BOOKMARK_SECONDS = 60.0

# apimachinery pkg/api/validate/content (IsQualifiedName, IsLabelValue) and util/validation:
#     const qnameCharFmt string = "[A-Za-z0-9]"
#     const qnameExtCharFmt string = "[-A-Za-z0-9_.]"
#     const qualifiedNameFmt string = "(" + qnameCharFmt + qnameExtCharFmt + "*)?" + qnameCharFmt
#     const qualifiedNameErrMsg string = "must consist of alphanumeric characters, '-', '_' or '.', and must
#         start and end with an alphanumeric character"
#     const qualifiedNameMaxLength int = 63
#     const labelValueFmt string = "(" + qualifiedNameFmt + ")?"
#     const labelValueErrMsg string = "a valid label must be an empty string or consist of alphanumeric
#         characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_RE = re.compile(f"^{_QNAME_FMT}$")
_QNAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
              "alphanumeric character")
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                    "and must start and end with an alphanumeric character")
_DNS1123_SUBDOMAIN_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN_FMT}$")
_DNS1123_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
                          "'.', and must start and end with an alphanumeric character")


class SelectorError(ValueError):
    """A field selector the server refuses (400 BadRequest with this message)."""


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """util/validation's RegexError, spaces and all:
        msg += " (e.g. "
        for i := range examples {
            if i > 0 { msg += " or " }
            msg += "'" + examples[i] + "', "
        }
        msg += "regex used for validation is '" + fmt + "')"
    """
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _qualified_name(value: str) -> list[str]:
    """content.IsLabelKey (IsQualifiedName): ``[prefix/]name``, name at most 63 characters."""
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                errs.append("prefix part must be no more than 253 characters")
            if not _DNS1123_SUBDOMAIN_RE.match(prefix):
                errs.append("prefix part " + _regex_error(_DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT,
                                                          "example.com"))
    else:
        return ["a qualified name " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if not _QNAME_RE.match(name):
        errs.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def _label_value(value: str) -> list[str]:
    errs: list[str] = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.match(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", field, f"Invalid value: {json.dumps(value)}: {detail}")


def _go_strings(values: list[str]) -> str:
    """Go's %#v of a []string."""
    return "[]string{" + ", ".join(json.dumps(v) for v in values) + "}"


def metadata_causes(meta: Mapping[str, Any], old_meta: Mapping[str, Any] | None) -> list[Cause]:
    """The metadata rules of ValidateObjectMeta(Accessor)(Update), apimachinery pkg/api/validation/objectmeta.go.

    Labels (v1validation.ValidateLabels):
        for k, v := range labels {
            allErrs = append(allErrs, ValidateLabelName(k, fldPath)...)      // IsQualifiedName
            for _, msg := range validation.IsValidLabelValue(v) {
                allErrs = append(allErrs, field.Invalid(fldPath, v, msg))
    Annotations:
        for _, msg := range validation.IsQualifiedName(strings.ToLower(k)) {
            allErrs = append(allErrs, field.Invalid(fldPath, k, msg))
        if err := ValidateAnnotationsSize(annotations); err != nil {     // sum of len(k)+len(v)
            allErrs = append(allErrs, field.TooLong(fldPath, "" /*unused*/, TotalAnnotationSizeLimitB))
    Finalizers (ValidateFinalizerName):
        for _, msg := range validation.IsQualifiedName(stringValue) {
            allErrs = append(allErrs, field.Invalid(fldPath, stringValue, msg))
    and on update:
        // Finalizers cannot be added if the object is already being deleted.
        if oldMeta.GetDeletionTimestamp() != nil {
            allErrs = append(allErrs, ValidateNoNewFinalizers(newMeta.GetFinalizers(), oldMeta.GetFinalizers(), ...
        ... field.Forbidden(fldPath, fmt.Sprintf("no new finalizers can be added if the object is being deleted,
            found new finalizers %#v", extra.List()))
    """
    causes: list[Cause] = []
    labels = meta.get("labels")
    if isinstance(labels, Mapping):
        for key, value in sorted(labels.items()):
            causes.extend(_invalid("metadata.labels", key, msg) for msg in _qualified_name(str(key)))
            if isinstance(value, str):
                causes.extend(_invalid("metadata.labels", value, msg) for msg in _label_value(value))
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping):
        for key in sorted(annotations):
            causes.extend(_invalid("metadata.annotations", key, msg) for msg in _qualified_name(str(key).lower()))
        size = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in annotations.items())
        if size > ANNOTATIONS_MAX_BYTES:
            causes.append(Cause("FieldValueTooLong", "metadata.annotations",
                                f"Too long: may not be more than {ANNOTATIONS_MAX_BYTES} bytes"))
    finalizers = meta.get("finalizers")
    if isinstance(finalizers, list):
        for name in finalizers:
            causes.extend(_invalid("metadata.finalizers", name, msg) for msg in _qualified_name(str(name)))
        if old_meta is not None and old_meta.get("deletionTimestamp"):
            extra = sorted(set(map(str, finalizers)) - set(map(str, old_meta.get("finalizers") or [])))
            if extra:
                causes.append(Cause("FieldValueForbidden", "metadata.finalizers",
                                    "Forbidden: no new finalizers can be added if the object is being deleted, "
                                    f"found new finalizers {_go_strings(extra)}"))
    return causes


def missing_resource_version(group_resource: str, group: str, plural: str, name: str) -> tuple[str, dict[str, Any]]:
    """The 422 a PUT without metadata.resourceVersion gets for a kind that forbids unconditional updates.

    apiserver pkg/registry/generic/registry/store.go (Update), for custom resources, whose strategy says
    ``AllowUnconditionalUpdate() bool { return false }`` (apiextensions-apiserver registry/customresource), as
    CustomResourceDefinitions' own (registry/customresourcedefinition/strategy.go: "AllowUnconditionalUpdate
    is the default update policy for CustomResourceDefinition objects ... return false"):
        if newResourceVersion == 0 && !e.UpdateStrategy.AllowUnconditionalUpdate() {
            qualifiedKind := schema.GroupKind{Group: qualifiedResource.Group, Kind: qualifiedResource.Resource}
            fieldErrList := field.ErrorList{field.Invalid(field.NewPath("metadata").Child("resourceVersion"),
                newResourceVersion, "must be specified for an update")}
            return nil, false, apierrors.NewInvalid(qualifiedKind, name, fieldErrList)
    (the value is a uint64 0, which field.Invalid prints as 0x0).
    """
    detail = "Invalid value: 0x0: must be specified for an update"
    message = f'{group_resource} "{name}" is invalid: metadata.resourceVersion: {detail}'
    return message, {"name": name, "group": group, "kind": plural,
                     "causes": [{"reason": "FieldValueInvalid", "message": detail,
                                 "field": "metadata.resourceVersion"}]}


# --------------------------------------------------------------------------------------------------
# Field selectors.
# --------------------------------------------------------------------------------------------------

# kubernetes pkg/apis/core/v1/conversion.go, AddFieldLabelConversionsForEvent:
#     case "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
#         "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
#         "reason", "reportingComponent", "source", "type", "metadata.namespace", "metadata.name":
#         return label, value, nil
#     default:
#         return "", "", fmt.Errorf("field label not supported: %s", label)
_EVENT_FIELDS = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                 "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                 "reason", "reportingComponent", "source", "type", "metadata.namespace", "metadata.name")
# ... AddFieldLabelConversionsForNamespace: case "status.phase", "metadata.name".
_NAMESPACE_FIELDS = ("status.phase", "metadata.name")


def _supported_fields(group: str, kind: str, namespaced: bool, custom: bool,
                      selectable: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """The field labels a resource's ConvertFieldLabel accepts, and the error format for others."""
    if custom:
        # apiextensions-apiserver pkg/apiserver/conversion/converter.go, crConverter.ConvertFieldLabel:
        #     case label == "metadata.name": return label, value, nil
        #     case !c.clusterScoped && label == "metadata.namespace": return label, value, nil
        #     default:
        #         if c.selectableFields[gvk.GroupVersion()].Has(label) { return label, value, nil }
        #         return "", "", fmt.Errorf("field label not supported: %s", label)
        # (the version's selectableFields[].jsonPath, without the leading dot).
        base = ("metadata.name", "metadata.namespace") if namespaced else ("metadata.name",)
        return base + selectable, "field label not supported: {label}"
    if group == "" and kind == "Event":
        return _EVENT_FIELDS, "field label not supported: {label}"
    if group == "" and kind == "Namespace":
        return _NAMESPACE_FIELDS, "field label not supported: {label}"
    # apimachinery pkg/runtime/conversion.go, DefaultMetaV1FieldSelectorConversion (every other built-in kind):
    #     case "metadata.name": ... case "metadata.namespace": return label, value, nil
    #     default: return "", "", fmt.Errorf("%q is not a known field selector: only %q, %q", label,
    #         "metadata.name", "metadata.namespace")
    return ("metadata.name", "metadata.namespace"), \
        '"{label}" is not a known field selector: only "metadata.name", "metadata.namespace"'


def field_selector(text: str, *, group: str, kind: str, namespaced: bool, custom: bool,
                   selectable: tuple[str, ...] = ()) -> list[tuple[str, bool, str]]:
    """Parse a fieldSelector into (field, equal, value) terms, refusing fields the resource does not support.

    apimachinery pkg/fields/selector.go (ParseSelector) knows the operators ``=``, ``==`` and ``!=``:
        return nil, fmt.Errorf("invalid selector: '%s'; can't understand '%s'", selector, part)
    and apiserver pkg/endpoints/handlers/get.go (ListResource) refuses what ConvertFieldLabel refuses:
        if opts.FieldSelector, err = opts.FieldSelector.Transform(fn); err != nil {
            err = errors.NewBadRequest(err.Error())
    """
    supported, error_format = _supported_fields(group, kind, namespaced, custom, selectable)
    terms: list[tuple[str, bool, str]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        if "!=" in part:
            label, value = part.split("!=", 1)
            equal = False
        elif "==" in part:
            label, value = part.split("==", 1)
            equal = True
        elif "=" in part:
            label, value = part.split("=", 1)
            equal = True
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        label = label.strip()
        if label not in supported:
            raise SelectorError(error_format.format(label=label))
        terms.append((label, equal, value.strip()))
    return terms


def field_values(obj: Mapping[str, Any], labels: list[str], *, group: str, kind: str) -> dict[str, str]:
    """The values of the selectable fields, as the registry's ToSelectableFields gives them.

    kubernetes pkg/registry/core/event/strategy.go (ToSelectableFields):
        source := event.Source.Component
        if source == "" { source = event.ReportingController }
        "reportingComponent": event.ReportingController, // use the core/v1 field name
        "source": source,
    """
    values: dict[str, str] = {}
    for label in labels:
        if group == "" and kind == "Event" and label == "source":
            value: Any = (obj.get("source") or {}).get("component") or obj.get("reportingComponent")
        elif group == "" and kind == "Event" and label == "reportingComponent":
            value = obj.get("reportingComponent")
        else:
            value = obj
            for key in label.split("."):
                value = value.get(key) if isinstance(value, Mapping) else None
        values[label] = "" if value is None else str(value)
    return values


# --------------------------------------------------------------------------------------------------
# List and watch options.
# --------------------------------------------------------------------------------------------------

def list_options_causes(params: Mapping[str, str], *, watch: bool) -> list[Cause]:
    """ValidateListOptions, apimachinery pkg/apis/meta/internalversion/validation/validation.go (WatchList on).

    For a watch (validateWatchOptions):
        if options.SendInitialEvents != nil {
            if match != metav1.ResourceVersionMatchNotOlderThan {
                allErrs = append(allErrs, field.Forbidden(field.NewPath("resourceVersionMatch"),
                    fmt.Sprintf("sendInitialEvents requires setting resourceVersionMatch to %s", ...NotOlderThan)))
        if len(match) > 0 {
            if options.SendInitialEvents == nil {
                ... field.Forbidden(..., "resourceVersionMatch is forbidden for watch unless sendInitialEvents
                    is provided"))
            if match != metav1.ResourceVersionMatchNotOlderThan {
                ... field.NotSupported(field.NewPath("resourceVersionMatch"), match, []string{NotOlderThan}))
    For a list:
        if match := options.ResourceVersionMatch; len(match) > 0 {
            if len(options.ResourceVersion) == 0 { ... "resourceVersionMatch is forbidden unless
                resourceVersion is provided"
            if match != Exact && match != NotOlderThan { ... field.NotSupported(..., match, {Exact, NotOlderThan, ""})
            if match == Exact && options.ResourceVersion == "0" { ... "resourceVersionMatch \"exact\" is forbidden
                for resourceVersion \"0\""
        if options.SendInitialEvents != nil {
            ... field.Forbidden(field.NewPath("sendInitialEvents"), "sendInitialEvents is forbidden for list"))
    apiserver pkg/endpoints/handlers/get.go answers them with
        errors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "ListOptions"}, "", errs)
    """
    causes: list[Cause] = []
    match = params.get("resourceVersionMatch", "")
    send_initial = params.get("sendInitialEvents")
    if watch:
        if send_initial is not None and match != "NotOlderThan":
            causes.append(Cause("FieldValueForbidden", "resourceVersionMatch",
                                "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
        if match:
            if send_initial is None:
                causes.append(Cause("FieldValueForbidden", "resourceVersionMatch",
                                    "Forbidden: resourceVersionMatch is forbidden for watch unless "
                                    "sendInitialEvents is provided"))
            if match != "NotOlderThan":
                causes.append(Cause("FieldValueNotSupported", "resourceVersionMatch",
                                    f'Unsupported value: {json.dumps(match)}: supported values: "NotOlderThan"'))
        return causes
    if match:
        if not params.get("resourceVersion"):
            causes.append(Cause("FieldValueForbidden", "resourceVersionMatch",
                                "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"))
        if match not in ("Exact", "NotOlderThan"):
            causes.append(Cause("FieldValueNotSupported", "resourceVersionMatch",
                                f'Unsupported value: {json.dumps(match)}: supported values: "Exact", '
                                '"NotOlderThan", ""'))
        if match == "Exact" and params.get("resourceVersion") == "0":
            causes.append(Cause("FieldValueForbidden", "resourceVersionMatch",
                                'Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
    if send_initial is not None:
        causes.append(Cause("FieldValueForbidden", "sendInitialEvents",
                            "Forbidden: sendInitialEvents is forbidden for list"))
    return causes


# --------------------------------------------------------------------------------------------------
# Create, update and patch options.
# --------------------------------------------------------------------------------------------------

def write_options_causes(params: Mapping[str, str], method: str, content_type: str) -> list[Cause]:
    """ValidatePatchOptions / ValidateCreateOptions / ValidateUpdateOptions,
    apimachinery pkg/apis/meta/v1/validation/validation.go:
        if patchType != types.ApplyPatchType {
            if options.Force != nil {
                allErrs = append(allErrs, field.Forbidden(field.NewPath("force"), "may not be specified for
                    non-apply patch"))
        } else {
            if options.FieldManager == "" {
                // This field is defaulted to "kubectl" by kubectl, but HAS TO be explicitly set by controllers.
                allErrs = append(allErrs, field.Required(field.NewPath("fieldManager"), "is required for apply patch"))
        ... ValidateFieldManager: if len(fieldManager) > FieldManagerMaxLength (128) { field.TooLong(...) }
        ... ValidateFieldValidation: field.NotSupported(fldPath, fieldValidation, {"Ignore", "Strict", "Warn"})
    (answered by handlers with errors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: "PatchOptions"},
    "", errs), and CreateOptions/UpdateOptions alike).
    """
    causes: list[Cause] = []
    manager = params.get("fieldManager", "")
    if method == "PATCH":
        if content_type != "application/apply-patch+yaml" and "force" in params:
            causes.append(Cause("FieldValueForbidden", "force", "Forbidden: may not be specified for non-apply patch"))
        if content_type == "application/apply-patch+yaml" and not manager:
            causes.append(Cause("FieldValueRequired", "fieldManager", "Required value: is required for apply patch"))
    if len(manager) > 128:
        causes.append(Cause("FieldValueTooLong", "fieldManager", "Too long: may not be more than 128 bytes"))
    directive = params.get("fieldValidation", "")
    if directive and directive not in ("Ignore", "Strict", "Warn"):
        causes.append(Cause("FieldValueNotSupported", "fieldValidation",
                            f'Unsupported value: {json.dumps(directive)}: supported values: "Ignore", "Strict", '
                            '"Warn"'))
    return causes


def manager_from_user_agent(user_agent: str) -> str:
    """The field manager of a write that names none: apiserver pkg/endpoints/handlers/rest.go
        func managerOrUserAgent(manager, userAgent string) string { ... return prefixFromUserAgent(userAgent) }
        func prefixFromUserAgent(u string) string { return strings.Split(u, "/")[0] }
    """
    return user_agent.split("/")[0]
