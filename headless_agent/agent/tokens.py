"""Who may call the agent: bearer tokens with roles, read from a mounted Secret.

A token arrives as ``Authorization: Bearer <token>`` or, through the API server's
service proxy, as ``X-AtlHyper-Token: <token>``. The Secret is mounted as a folder with
one file per role — ``viewer``, ``operator``, ``probe`` — each holding one token per line
(blank lines and ``#`` comments ignored), so tokens can be rotated by adding a line,
waiting for clients to switch, then removing the old one. A token is compared with every
known token in constant time (``hmac.compare_digest``), and never appears in a log line,
an error or ``repr``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


class Role(enum.Enum):
    #: reads the snapshot, the stream and node metrics
    VIEWER = "viewer"
    #: what a viewer may, and submits commands
    OPERATOR = "operator"
    #: pushes node samples, nothing else
    PROBE = "probe"

    def allows(self, needed: Role) -> bool:
        if needed is Role.PROBE:
            return self is Role.PROBE
        if needed is Role.VIEWER:
            return self in (Role.VIEWER, Role.OPERATOR)
        return self is Role.OPERATOR


class TokenFileError(ValueError):
    """The tokens folder cannot be used; the message names the file."""


MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class Caller:
    role: Role
    #: a short fingerprint for logs and rate limits: never the token itself
    fingerprint: str


class TokenBook:
    def __init__(self, tokens: Mapping[Role, Iterable[str]]) -> None:
        self._entries: list[tuple[bytes, Role]] = []
        for role, values in tokens.items():
            for value in values:
                if len(value) < MIN_TOKEN_LENGTH:
                    raise TokenFileError(
                        f"a {role.value} token is shorter than {MIN_TOKEN_LENGTH} characters"
                    )
                self._entries.append((value.encode(), role))

    @classmethod
    def from_folder(cls, folder: str | Path) -> TokenBook:
        root = Path(folder)
        if not root.is_dir():
            raise TokenFileError(f"tokens folder {root} does not exist")
        tokens: dict[Role, list[str]] = {}
        for role in Role:
            path = root / role.value
            if not path.exists():
                continue
            try:
                lines = path.read_text().splitlines()
            except (OSError, UnicodeDecodeError) as error:
                raise TokenFileError(f"{path}: cannot be read ({error})") from None
            tokens[role] = [
                line.strip() for line in lines if line.strip() and not line.startswith("#")
            ]
        if not any(tokens.values()):
            names = ", ".join(r.value for r in Role)
            raise TokenFileError(f"no tokens in {root} (expected files named {names})")
        return cls(tokens)

    def __repr__(self) -> str:
        return f"TokenBook({len(self._entries)} tokens)"

    def caller(self, authorization: str | None, token_header: str | None = None) -> Caller | None:
        """Who presented ``Authorization: Bearer <token>`` — or the token in
        ``X-AtlHyper-Token``, which survives the API server's service proxy (it strips
        ``Authorization``, which there carries the user's own Kubernetes credentials)."""
        value = ""
        if authorization:
            scheme, _, rest = authorization.partition(" ")
            if scheme.lower() == "bearer":
                value = rest
        if not value.strip() and token_header:
            value = token_header
        if not value.strip():
            return None
        presented = value.strip().encode()
        found: Role | None = None
        # Compare with every entry, never stopping early, so timing says nothing.
        for token, role in self._entries:
            if hmac.compare_digest(token, presented):
                found = role
        if found is None:
            return None
        return Caller(found, hashlib.sha256(presented).hexdigest()[:12])
