"""AWS errors mapped to what the reconciler can act on."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# Worth another look later, as AWS says: PolicyChangesInProgressException "Changes to the effective policy are in
# progress, and its contents can't be returned. Try the operation again later." (a policy type being enabled);
# FinalizingOrganizationException "your organization hasn't finished initializing. This can take up to an hour.
# Try again later." (botocore's organizations service-2.json).
IN_PROGRESS_CODES = frozenset({"PolicyChangesInProgressException", "FinalizingOrganizationException"})

# AWS Organizations answers TooManyRequestsException when throttled; the generic names are botocore's.
THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded", "SlowDown"}
)
TRANSIENT_CODES = THROTTLING_CODES | IN_PROGRESS_CODES | {
    "ConcurrentModificationException",
    "ServiceException",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServerException",  # the Account Management API's transient error
}

#: botocore's errors for credentials it cannot find or use: never transient (retrying them only delays the answer:
#: ~20 s of backoff per call before, 27 s for a plan without credentials).
CREDENTIAL_ERRORS = frozenset({"NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError",
                               "NoAuthTokenError", "UnauthorizedSSOTokenError", "SSOTokenLoadError"})


class AwsError(Exception):
    """An AWS call failed. ``code`` is AWS's error code, ``reason`` its Reason field if any."""

    transient = False

    def __init__(self, operation: str, code: str, message: str, reason: str | None = None) -> None:
        self.operation = operation
        self.code = code
        self.aws_message = message
        self.reason = reason
        detail = f" ({reason})" if reason else ""
        super().__init__(f"{operation}: {code}{detail}: {message}")


class TransientAwsError(AwsError):
    """Worth retrying later: throttling, concurrent modification, service trouble."""

    transient = True

    @property
    def throttled(self) -> bool:
        return self.code in THROTTLING_CODES


def map_error(operation: str, exc: Exception) -> AwsError:
    if isinstance(exc, ClientError):
        err: dict[str, Any] = dict(exc.response.get("Error", {}))
        code = str(err.get("Code", "Unknown"))
        message = str(err.get("Message", ""))
        reason = exc.response.get("Reason") or err.get("Reason")
        cls = TransientAwsError if code in TRANSIENT_CODES else AwsError
        return cls(operation, code, message, str(reason) if reason else None)
    if isinstance(exc, BotoCoreError):
        if type(exc).__name__ in CREDENTIAL_ERRORS:  # no waiting makes credentials appear: say so at once
            return AwsError(operation, type(exc).__name__, str(exc))
        return TransientAwsError(operation, type(exc).__name__, str(exc))
    return AwsError(operation, type(exc).__name__, str(exc))
