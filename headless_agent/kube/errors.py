"""What can go wrong talking to a cluster, as exception classes a user-facing message maps onto.

Every failure of the API or the path to it becomes one of these, carrying a message a user
can act on ("forbidden: cannot list pods at cluster scope", "TLS: certificate signed by an
unknown authority"), never a raw traceback.
"""

from __future__ import annotations


class KubeError(Exception):
    """Base class: something stopped a request to a cluster."""

    #: a short machine-readable category the UI and alerts can switch on
    category = "error"


class ConfigError(KubeError):
    """The kubeconfig (or in-cluster config) cannot be used as it is."""

    category = "config"


class ExecPluginMissing(ConfigError):
    """The context's exec credential plugin is not on the PATH AtlHyper searches."""

    category = "exec-plugin-missing"


class ExecPluginFailed(ConfigError):
    """The exec credential plugin ran but did not produce a credential."""

    category = "exec-plugin-failed"


class Unreachable(KubeError):
    """No connection to the API server (DNS, refused, timed out, network down)."""

    category = "unreachable"


class TlsError(KubeError):
    """The TLS handshake failed (unknown authority, wrong host name, bad client cert)."""

    category = "tls"


class ApiStatusError(KubeError):
    """The API server answered with an error status."""

    category = "api"

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


class Unauthorized(ApiStatusError):
    category = "unauthorized"


class Forbidden(ApiStatusError):
    category = "forbidden"


class NotFound(ApiStatusError):
    category = "not-found"


class Conflict(ApiStatusError):
    """The object changed since it was read, or already exists."""

    category = "conflict"


class Invalid(ApiStatusError):
    """The API server refused the object as written (422)."""

    category = "invalid"


class Gone(ApiStatusError):
    """410: the resourceVersion is too old (compacted); the caller must list again."""

    category = "gone"


class TooManyRequests(ApiStatusError):
    category = "throttled"

    def __init__(self, status: int, reason: str, message: str, retry_after: float | None) -> None:
        super().__init__(status, reason, message)
        self.retry_after = retry_after


class ServerError(ApiStatusError):
    category = "server-error"


_BY_STATUS: dict[int, type[ApiStatusError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    500: ServerError,
    502: ServerError,
    503: ServerError,
    504: ServerError,
}


def status_error(status: int, body: object, retry_after: str | None = None) -> ApiStatusError:
    """Map an HTTP status and the API's Status object (if any) to an exception."""
    reason, message = "", ""
    if isinstance(body, dict):
        reason = str(body.get("reason") or "")
        message = str(body.get("message") or "")
    if not message:
        message = f"the API server answered HTTP {status}"
    if status == 429:
        delay = None
        if retry_after:
            try:
                delay = float(retry_after)
            except ValueError:
                delay = None
        return TooManyRequests(status, reason, message, delay)
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ApiStatusError)
    return cls(status, reason, message)
