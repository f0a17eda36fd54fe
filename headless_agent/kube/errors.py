"""What can go wrong talking to a cluster, as exception classes a user-facing message maps onto.

Every failure of the API or the path to it becomes one of these, carrying a message a user
can act on ("forbidden: cannot list pods at cluster scope", "TLS: certificate signed by an
unknown authority"), never a raw traceback.

``said()`` is the error as a catalog message, for a head to render in its reader's
language: the engine's own sentence for the kind of failure (``explanation``) is
translated, while what the server or the network said stays verbatim as its ``{detail}``.
``str()`` stays the engine's English text, for logs.
"""

from __future__ import annotations

from typing import Any

from headless_agent import i18n


class KubeError(Exception):
    """Base class: something stopped a request to a cluster."""

    #: a short machine-readable category the UI and alerts can switch on
    category = "error"
    #: the catalog message that puts this kind of failure in words; ``{detail}`` is the text
    explanation = "error.other"

    def __init__(self, *args: object, said: i18n.Message | None = None) -> None:
        super().__init__(*args)
        self._said = said

    @classmethod
    def saying(cls, message_id: str, **params: Any) -> KubeError:
        """An error whose whole text is a catalog message (the English one as ``str()``)."""
        return cls(i18n.english(message_id, **params), said=(message_id, params))

    def said(self) -> i18n.Message:
        """The error as a message to render in the reader's language."""
        if self._said is not None:
            return self._said
        return (self.explanation, {"detail": str(self)})


class ConfigError(KubeError):
    """The kubeconfig (or in-cluster config) cannot be used as it is."""

    category = "config"
    explanation = "error.config"


class ExecPluginMissing(ConfigError):
    """The context's exec credential plugin is not on the PATH AtlHyper searches."""

    category = "exec-plugin-missing"
    explanation = "error.exec_plugin_missing"


class ExecPluginFailed(ConfigError):
    """The exec credential plugin ran but did not produce a credential."""

    category = "exec-plugin-failed"
    explanation = "error.exec_plugin_failed"


class Unreachable(KubeError):
    """No connection to the API server (DNS, refused, timed out, network down)."""

    category = "unreachable"
    explanation = "error.unreachable"


class TlsError(KubeError):
    """The TLS handshake failed (unknown authority, wrong host name, bad client cert)."""

    category = "tls"
    explanation = "error.tls"


class ApiStatusError(KubeError):
    """The API server answered with an error status."""

    category = "api"
    explanation = "error.api_status"

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message

    def said(self) -> i18n.Message:
        """The engine's sentence for the status, with the server's message verbatim."""
        return (self.explanation, {"status": self.status, "detail": self.message})


class Unauthorized(ApiStatusError):
    category = "unauthorized"
    explanation = "error.unauthorized"


class Forbidden(ApiStatusError):
    category = "forbidden"
    explanation = "error.forbidden"


class NotFound(ApiStatusError):
    category = "not-found"
    explanation = "error.not_found"


class Conflict(ApiStatusError):
    """The object changed since it was read, or already exists."""

    category = "conflict"
    explanation = "error.conflict"


class Invalid(ApiStatusError):
    """The API server refused the object as written (422)."""

    category = "invalid"
    explanation = "error.invalid"


class Gone(ApiStatusError):
    """410: the resourceVersion is too old (compacted); the caller must list again."""

    category = "gone"
    explanation = "error.gone"


class TooManyRequests(ApiStatusError):
    category = "throttled"
    explanation = "error.throttled"

    def __init__(self, status: int, reason: str, message: str, retry_after: float | None) -> None:
        super().__init__(status, reason, message)
        self.retry_after = retry_after


class ServerError(ApiStatusError):
    category = "server-error"
    explanation = "error.server"


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
