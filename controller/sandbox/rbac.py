"""Authentication by bearer token and RBAC authorization for the sandbox Kubernetes API.

Each request is authenticated by its ``Authorization: Bearer`` token (a static token table, like the API
server's ``--token-auth-file``) and authorized the way the RBAC authorizer does, from the ClusterRoles, Roles,
ClusterRoleBindings and RoleBindings stored in the sandbox (served under ``rbac.authorization.k8s.io/v1``, so
``kubectl apply -f deploy/rbac.yaml`` works). The sources followed, from kubernetes/kubernetes:

- request attributes: staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go (``NewRequestInfo``);
- rule matching: plugin/pkg/auth/authorizer/rbac/rbac.go (``RuleAllows``) and
  pkg/apis/rbac/v1/evaluation_helpers.go (``VerbMatches``, ``APIGroupMatches``, ``ResourceMatches``,
  ``ResourceNameMatches``, ``NonResourceURLMatches``);
- bindings: pkg/registry/rbac/validation/rule.go (``VisitRulesFor``, ``appliesToUser``);
- the 403: staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go (``forbiddenMessage``)
  and apimachinery's ``NewForbidden``;
- the default policy: plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go (``system:discovery``,
  ``system:public-info-viewer``, ``cluster-admin`` bound to ``system:masters``).

The sandbox records, per user, every request it authorized (verb, group, resource, subresource, namespace,
name) and every one it refused, so that a test can compare what a client used with what it was granted.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from controller.api import schema as structural

__all__ = [
    "ADMIN_TOKEN",
    "ADMIN_USER",
    "RBAC_GROUP",
    "RESOURCES",
    "UNSECURED",
    "Attributes",
    "Rbac",
    "User",
    "bootstrap_policy",
    "name_causes",
    "request_attributes",
    "rule_allows",
]

Obj = dict[str, Any]

RBAC_GROUP = "rbac.authorization.k8s.io"
ADMIN_TOKEN = "awsorg-sandbox-token"  # the token of the kubeconfig `KubeSandbox.write_kubeconfig` writes
ADMIN_USER = "awsorg-sandbox-admin"
MASTERS = "system:masters"  # k8s.io/apiserver/pkg/authentication/user: SystemPrivilegedGroup
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
UNSECURED = "system:unsecured"

# The four RBAC kinds, served as the API server serves them (``kubectl api-resources --api-group=rbac...``).
RESOURCES: list[dict[str, Any]] = [
    {"group": RBAC_GROUP, "version": "v1", "plural": plural, "kind": kind, "singular": kind.lower(),
     "namespaced": namespaced}
    for plural, kind, namespaced in (("clusterroles", "ClusterRole", False),
                                     ("clusterrolebindings", "ClusterRoleBinding", False),
                                     ("roles", "Role", True), ("rolebindings", "RoleBinding", True))
]


@dataclasses.dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes of one request (the user apart)."""

    verb: str
    path: str
    is_resource: bool = False
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""

    @property
    def combined_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


# requestinfo.go: `namespaceSubresources = sets.NewString("status", "finalize")`; Go's strconv.ParseBool for
# the `watch` query parameter.
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch",
                 "DELETE": "delete"}


def request_attributes(method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """requestinfo.go ``NewRequestInfo``: "start with a non-resource request until proven otherwise"."""
    verb = _METHOD_VERBS.get(method.upper(), method.lower())
    parts = [p for p in path.strip("/").split("/")] if path.strip("/") else []
    # "if len(currentParts) < 3 { return a non-resource request }"; "/apis/{group}/{version}" is one too:
    # "one part (APIPrefix) has already been consumed, so this is actually 'do we have four parts?'".
    if len(parts) < 3 or parts[0] not in ("api", "apis") or (parts[0] == "apis" and len(parts) < 4):
        return Attributes(verb=verb, path=path)
    group, rest = ("", parts[1:]) if parts[0] == "api" else (parts[1], parts[2:])
    version, rest = rest[0], rest[1:]
    namespace = ""
    if rest and rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        # "if there is another step after the namespace name and it is not a known namespace
        # subresource move currentParts to include it as a resource in its own right"
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) >= 2 else ""
    subresource = rest[2] if len(rest) >= 3 else ""
    # "if there's no name on the request and we thought it was a get before, then the actual verb is a list
    # or a watch" ... "if name, ok := opts.FieldSelector.RequiresExactMatch("metadata.name")" it is the name.
    if not name and verb == "get":
        verb = "watch" if query.get("watch", "false") in _TRUE else "list"
        for term in (query.get("fieldSelector") or "").split(","):
            key, sep, value = term.partition("=")
            if sep and key.strip() == "metadata.name":  # "metadata.name=x" or "metadata.name==x"
                name = value.removeprefix("=").strip()
    # "if there's no name on the request and we thought it was a delete before, then the actual verb is
    # deletecollection"
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(verb=verb, path=path, is_resource=True, group=group, version=version, resource=resource,
                      subresource=subresource, namespace=namespace, name=name)


def _matches(values: Iterable[str], wanted: str, wildcard: str = "*") -> bool:
    """VerbMatches / APIGroupMatches: "if ruleVerb == rbacv1.VerbAll ... if ruleVerb == requestedVerb"."""
    return any(v in (wildcard, wanted) for v in values)


def _resource_matches(rule: Mapping[str, Any], combined: str, subresource: str) -> bool:
    for candidate in rule.get("resources") or ():
        # "if everything is allowed, we match"; "if we have an exact match, we match"
        if candidate in ("*", combined):
            return True
        # "We can also match a */subresource."
        if subresource and candidate == f"*/{subresource}":
            return True
    return False


def _url_matches(rule: Mapping[str, Any], path: str) -> bool:
    for url in rule.get("nonResourceURLs") or ():
        # NonResourceURLMatches: "*", exact, or "strings.HasSuffix(ruleURL, "*") && strings.HasPrefix(
        # requestedURL, strings.TrimRight(ruleURL, "*"))"
        if url in ("*", path) or (url.endswith("*") and path.startswith(url.rstrip("*"))):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Mapping[str, Any]) -> bool:
    """rbac.go ``RuleAllows``."""
    verbs = rule.get("verbs") or ()
    if attrs.is_resource:
        names = rule.get("resourceNames") or ()
        return (_matches(verbs, attrs.verb) and _matches(rule.get("apiGroups") or (), attrs.group)
                and _resource_matches(rule, attrs.combined_resource, attrs.subresource)
                # ResourceNameMatches: "if len(rule.ResourceNames) == 0 { return true }"
                and (not names or attrs.name in names))
    return _matches(verbs, attrs.verb) and _url_matches(rule, attrs.path)


def _applies_to(user: User, subject: Mapping[str, Any], namespace: str) -> bool:
    """rule.go ``appliesToUser``."""
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        # "default the namespace to namespace we're working in if its available"
        sa_namespace = subject.get("namespace") or namespace
        return bool(sa_namespace) and user.name == service_account_user(sa_namespace, str(name))
    return False


def service_account_user(namespace: str, name: str) -> str:
    """serviceaccount.MakeUsername."""
    return f"system:serviceaccount:{namespace}:{name}"


def forbidden_message(user: User, attrs: Attributes, reason: str = "") -> str:
    """responsewriters ``forbiddenMessage`` wrapped by ``apierrors.NewForbidden``, as kubectl prints it."""
    if not attrs.is_resource:
        msg = f"User {json.dumps(user.name)} cannot {attrs.verb} path {json.dumps(attrs.path)}"
    elif attrs.namespace:
        msg = (f"User {json.dumps(user.name)} cannot {attrs.verb} resource {json.dumps(attrs.combined_resource)} "
               f"in API group {json.dumps(attrs.group)} in the namespace {json.dumps(attrs.namespace)}")
    else:
        msg = (f"User {json.dumps(user.name)} cannot {attrs.verb} resource {json.dumps(attrs.combined_resource)} "
               f"in API group {json.dumps(attrs.group)} at the cluster scope")
    if reason:
        msg = f"{msg}: {reason}"
    # NewForbidden: "forbidden: %v" without a resource, "%s is forbidden: %v" without a name,
    # "%s %q is forbidden: %v" with one (qualifiedResource.String() is "resource.group").
    if not attrs.is_resource:
        return f"forbidden: {msg}"
    qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
    return f"{qualified} {json.dumps(attrs.name)} is forbidden: {msg}" if attrs.name else \
        f"{qualified} is forbidden: {msg}"


def name_causes(name: str) -> list[structural.Cause]:
    """pkg/apis/rbac/validation: ``ValidateRBACName = path.IsValidPathSegmentName`` (so "system:discovery" is
    a valid name): "may not be '.'", "may not be '..'", "may not contain '/'", "may not contain '%'"."""
    value = f"Invalid value: {json.dumps(name)}: "
    if not name:
        return [structural.Cause("FieldValueRequired", "metadata.name",
                                 "Required value: name or generateName is required")]
    if name in (".", ".."):
        return [structural.Cause("FieldValueInvalid", "metadata.name", f"{value}may not be '{name}'")]
    return [structural.Cause("FieldValueInvalid", "metadata.name", f"{value}may not contain '{c}'")
            for c in ("/", "%") if c in name]


def bootstrap_policy() -> list[Obj]:
    """The default ClusterRoles and ClusterRoleBindings of bootstrappolicy/policy.go that concern the sandbox.

    ``cluster-admin``: "a "root" role which can do absolutely anything" (``NewRule("*").Groups("*").
    Resources("*")``, ``NewRule("*").URLs("*")``), bound to ``system:masters``. ``system:discovery``: "a role
    which provides just enough power to determine if the server is ready and discover API versions for
    negotiation" (``NewRule("get").URLs("/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi",
    "/openapi/*", "/api", "/api/*", "/apis", "/apis/*")``), bound to ``system:authenticated``.
    ``system:public-info-viewer`` (``NewRule("get").URLs("/livez", "/readyz", "/healthz", "/version",
    "/version/")``), bound to ``system:authenticated`` and ``system:unauthenticated``.
    """
    api_version = f"{RBAC_GROUP}/v1"
    labels = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    roles = {
        "cluster-admin": ([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                           {"nonResourceURLs": ["*"], "verbs": ["*"]}], [MASTERS]),
        "system:discovery": ([{"nonResourceURLs": ["/livez", "/readyz", "/healthz", "/version", "/version/",
                                                   "/openapi", "/openapi/*", "/api", "/api/*", "/apis",
                                                   "/apis/*"], "verbs": ["get"]}], [AUTHENTICATED]),
        "system:public-info-viewer": ([{"nonResourceURLs": ["/livez", "/readyz", "/healthz", "/version",
                                                            "/version/"], "verbs": ["get"]}],
                                      [AUTHENTICATED, UNAUTHENTICATED]),
    }
    objects: list[Obj] = []
    for name, (rules, groups) in roles.items():
        objects.append({"apiVersion": api_version, "kind": "ClusterRole",
                        "metadata": {"name": name, "labels": labels}, "rules": rules})
        objects.append({"apiVersion": api_version, "kind": "ClusterRoleBinding",
                        "metadata": {"name": name, "labels": labels},
                        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
                        "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in groups]})
    return objects


Lister = Callable[[str, str | None], list[Obj]]  # (plural, namespace) -> the stored objects
Getter = Callable[[str, str, str | None], Obj | None]  # (plural, name, namespace) -> the object


class Rbac:
    """Tokens, the authorizer over the stored RBAC objects, and the record of what each user did."""

    def __init__(self, list_objects: Lister, get_object: Getter) -> None:
        self._list = list_objects
        self._get = get_object
        self.tokens: dict[str, User] = {ADMIN_TOKEN: User(ADMIN_USER, (MASTERS, AUTHENTICATED))}
        # user -> {(verb, group, resource, subresource, namespace, name)} / for non-resource requests
        # (verb, "", path, "", "", "").
        self.used: dict[str, set[tuple[str, str, str, str, str, str]]] = collections.defaultdict(set)
        self.denied: dict[str, list[str]] = collections.defaultdict(list)

    # -- authentication ------------------------------------------------------------------------

    def add_token(self, user: str, groups: Iterable[str] = (), token: str | None = None) -> str:
        """Register a bearer token for ``user`` (``system:authenticated`` is added, as authenticators do)."""
        token = token or secrets.token_urlsafe(24)
        self.tokens[token] = User(user, (*dict.fromkeys([*groups, AUTHENTICATED]),))
        return token

    def service_account_token(self, namespace: str, name: str) -> str:
        """A token of the service account, with the groups serviceaccount.MakeGroupNames gives it."""
        return self.add_token(service_account_user(namespace, name),
                              ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"])

    def authenticate(self, authorization: str | None) -> User | None:
        """The user of the request; None for a token nobody issued (401).

        A request without credentials is the insecure port's superuser. The sandbox serves plain HTTP, and
        client-go sends no credentials over plain HTTP (kubernetes/kubectl#744: "when I point the kubeconfig to
        a local server e.g. server: http://localhost:8080 ... no Authorization header is sent"), so kubectl
        reaches it as kube-apiserver's old insecure port saw every client: "insecureSuperuser implements
        authenticator.Request to always return a superuser" (``Name: "system:unsecured", Groups:
        []string{user.SystemPrivilegedGroup, user.AllAuthenticated}``, pkg/kubeapiserver/server/
        insecure_handler.go). Clients that do send a token (kopf, aiohttp, urllib) are that token's user.
        """
        if not authorization:
            return User(UNSECURED, (MASTERS, AUTHENTICATED))
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.tokens.get(token.strip())

    # -- authorization -------------------------------------------------------------------------

    def _role_rules(self, kind: str, name: str, namespace: str) -> tuple[list[Obj], str | None]:
        if kind == "ClusterRole":
            role = self._get("clusterroles", name, None)
            missing = f'clusterrole.{RBAC_GROUP} "{name}" not found'
        else:
            role = self._get("roles", name, namespace)
            missing = f'role.{RBAC_GROUP} "{name}" not found'
        if role is None:
            return [], missing
        return list(role.get("rules") or []), None

    def authorize(self, user: User, attrs: Attributes) -> tuple[bool, str]:
        """rbac.go ``Authorize``: allowed, or the reason ("RBAC: ..." from bindings that failed to resolve)."""
        if MASTERS in user.groups:  # authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)
            return True, ""
        errors: list[str] = []
        # rule.go VisitRulesFor: the cluster role bindings first, then the role bindings of the namespace.
        bindings = [(b, "") for b in self._list("clusterrolebindings", None)]
        if attrs.namespace:
            bindings += [(b, attrs.namespace) for b in self._list("rolebindings", attrs.namespace)]
        for binding, namespace in bindings:
            if not any(_applies_to(user, s, namespace) for s in binding.get("subjects") or ()):
                continue
            ref = binding.get("roleRef") or {}
            rules, error = self._role_rules(str(ref.get("kind")), str(ref.get("name")), namespace)
            if error:
                errors.append(error)
            if any(rule_allows(attrs, rule) for rule in rules):
                return True, ""
        if not errors:
            return False, ""
        # utilerrors.NewAggregate: one error as itself, several as "[a, b]".
        return False, "RBAC: " + (errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")

    def check(self, method: str, path: str, query: Mapping[str, str], authorization: str | None
              ) -> tuple[int, Obj] | None:
        """None when the request may proceed, else (status, Status body) for the 401 or 403."""
        user = self.authenticate(authorization)
        if user is None:
            return 401, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
        attrs = request_attributes(method, path, query)
        allowed, reason = self.authorize(user, attrs)
        key = (attrs.verb, attrs.group, attrs.resource if attrs.is_resource else attrs.path, attrs.subresource,
               attrs.namespace, attrs.name)
        if allowed:
            self.used[user.name].add(key)
            return None
        message = forbidden_message(user, attrs, reason)
        self.denied[user.name].append(f"{method} {path}: {message}")
        details: Obj = {"group": attrs.group, "kind": attrs.resource} if attrs.is_resource else {}
        if attrs.name:
            details["name"] = attrs.name
        body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                     "message": message, "reason": "Forbidden", "details": details, "code": 403}
        if not details:
            del body["details"]
        return 403, body
