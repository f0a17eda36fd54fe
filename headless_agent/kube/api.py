"""A small raw-JSON client for the Kubernetes API on httpx, for trio.

Hot paths (LIST pages, WATCH streams) stay raw JSON dicts parsed with orjson: no per-object
model classes. Errors come out as ``headless_agent.kube.errors`` exceptions. A 401 reloads
the credentials once (an expired exec-plugin or OIDC token) before giving up.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import trio

from headless_agent import __version__
from headless_agent.kube.connecting import Credentials
from headless_agent.kube.errors import (
    ApiStatusError,
    KubeError,
    TlsError,
    Unauthorized,
    Unreachable,
    status_error,
)

Params = Mapping[str, str | int | bool]
_USER_AGENT = f"atlhyper/{__version__}"


def _params(params: Params | None) -> dict[str, str]:
    if not params:
        return {}
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}


def _transport_error(error: Exception, server: str) -> KubeError:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return TlsError(
                f"TLS: {server} presented a certificate we cannot verify: {cause.verify_message}"
            )
        if isinstance(cause, ssl.SSLError):
            return TlsError(f"TLS handshake with {server} failed: {cause.reason or cause}")
        cause = cause.__cause__ or cause.__context__
    if isinstance(error, httpx.TimeoutException):
        return Unreachable(f"{server} did not answer in time")
    return Unreachable(f"cannot reach {server}: {error or type(error).__name__}")


class KubeApi:
    """One cluster's API client. Create inside trio; close with ``aclose()``."""

    def __init__(self, credentials: Credentials, *, request_timeout: float = 30.0) -> None:
        self.credentials = credentials
        self._request_timeout = request_timeout
        self._client = self._new_client()

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.credentials.server,
            verify=self.credentials.ssl_context,
            timeout=httpx.Timeout(self._request_timeout, connect=10.0),
            headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    @property
    def server(self) -> str:
        return self.credentials.server

    async def aclose(self) -> None:
        await self._client.aclose()

    def _headers(self) -> dict[str, str]:
        auth = self.credentials.authorization
        return {"Authorization": auth} if auth else {}

    async def refresh_credentials(self, *, force: bool = False) -> None:
        """Refresh an expiring credential (runs exec plugins in a worker thread)."""
        if force:
            old_context = self.credentials.ssl_context
            await trio.to_thread.run_sync(self.credentials.reload)
            if self.credentials.ssl_context is not old_context:
                old, self._client = self._client, self._new_client()
                await old.aclose()
        else:
            await trio.to_thread.run_sync(self.credentials.refresh_if_expired)

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Any = None,
        content_type: str = "application/json",
        raw_body: bytes | None = None,
    ) -> Any:
        """One request with a JSON answer; a 401 reloads credentials and retries once.
        ``raw_body`` is sent as it is (server-side apply takes YAML)."""
        content = (
            raw_body if raw_body is not None else orjson.dumps(body) if body is not None else None
        )
        for attempt in (1, 2):
            try:
                response = await self._client.request(
                    method,
                    path,
                    params=_params(params),
                    content=content,
                    headers={**self._headers(), "Content-Type": content_type},
                )
            except httpx.HTTPError as error:
                raise _transport_error(error, self.server) from None
            if response.status_code == 401 and attempt == 1:
                await self.refresh_credentials(force=True)
                continue
            return self._decode(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_text(self, path: str, params: Params | None = None) -> str:
        """A plain-text answer (container logs)."""
        for attempt in (1, 2):
            try:
                response = await self._client.get(
                    path, params=_params(params), headers={**self._headers(), "Accept": "*/*"}
                )
            except httpx.HTTPError as error:
                raise _transport_error(error, self.server) from None
            if response.status_code == 401 and attempt == 1:
                await self.refresh_credentials(force=True)
                continue
            if response.status_code >= 400:
                self._decode(response)  # raises the mapped error
            return response.text
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_json(self, path: str, params: Params | None = None) -> Any:
        return await self.request_json("GET", path, params=params)

    def _decode(self, response: httpx.Response) -> Any:
        try:
            body = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = None
        if response.status_code >= 400:
            raise status_error(response.status_code, body, response.headers.get("Retry-After"))
        if body is None:
            raise ApiStatusError(
                response.status_code, "BadResponse", f"{self.server} answered with no JSON"
            )
        return body

    @asynccontextmanager
    async def watch(self, path: str, params: Params) -> AsyncIterator[AsyncIterator[Any]]:
        """Open a WATCH stream; yields an iterator of decoded watch events (dicts)."""
        request_params = {**_params(params), "watch": "true"}
        for attempt in (1, 2):
            try:
                async with self._client.stream(
                    "GET",
                    path,
                    params=request_params,
                    headers=self._headers(),
                    timeout=httpx.Timeout(None, connect=10.0),
                ) as response:
                    if response.status_code == 401 and attempt == 1:
                        await response.aclose()
                        await self.refresh_credentials(force=True)
                        continue
                    if response.status_code >= 400:
                        await response.aread()
                        self._decode(response)
                    yield self._events(response)
                    return
            except httpx.HTTPError as error:
                raise _transport_error(error, self.server) from None
        raise Unauthorized(401, "Unauthorized", "credentials were rejected after a refresh")

    async def _events(self, response: httpx.Response) -> AsyncIterator[Any]:
        try:
            async for line in response.aiter_lines():
                if line:
                    yield orjson.loads(line)
        except httpx.HTTPError as error:
            raise _transport_error(error, self.server) from None
        except orjson.JSONDecodeError:
            raise Unreachable(f"{self.server} sent a broken watch stream") from None
