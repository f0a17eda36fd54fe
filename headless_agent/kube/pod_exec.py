"""Running a non-interactive command in a container (the API's exec subresource).

Exec speaks a WebSocket sub-protocol that httpx does not; the official client's stream
module does, so this one call uses it — blocking, in a worker thread, bounded in time and
in output.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from kubernetes import client as kube_client
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from headless_agent.kube.connecting import Credentials
from headless_agent.kube.errors import KubeError, status_error

#: output kept per stream; more is cut (a console shows it, it is no file transfer)
MAX_OUTPUT = 1 * 2**20


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int | None  # None: unknown (the command was cut off at the timeout)
    truncated: bool


def exec_in_container(
    credentials: Credentials,
    namespace: str,
    pod: str,
    container: str | None,
    command: list[str],
    timeout: float,
) -> ExecResult:
    """Run ``command`` and wait for it (blocking). Raises KubeError with the API's words."""
    api = kube_client.CoreV1Api(kube_client.ApiClient(credentials.configuration))
    options: dict[str, Any] = {
        "command": command,
        "stderr": True,
        "stdin": False,
        "stdout": True,
        "tty": False,
        "_preload_content": False,
    }
    if container:
        options["container"] = container
    try:
        session = stream(api.connect_get_namespaced_pod_exec, pod, namespace, **options)
    except ApiException as error:
        raise status_error(error.status or 0, _body(error)) from None
    except Exception as error:  # the WebSocket handshake failed in the client's own words
        raise KubeError(f"exec in {namespace}/{pod} failed: {error}") from None
    out: list[str] = []
    err: list[str] = []
    size = 0
    deadline = time.monotonic() + timeout
    truncated = False
    try:
        while session.is_open() and time.monotonic() < deadline:
            session.update(timeout=1)
            for chunks, read in ((out, session.read_stdout), (err, session.read_stderr)):
                if session.peek_stdout() if chunks is out else session.peek_stderr():
                    text = read()
                    size += len(text)
                    if size <= MAX_OUTPUT:
                        chunks.append(text)
                    else:
                        truncated = True
        finished = not session.is_open()
        code = _exit_code(session) if finished else None
    finally:
        session.close()
    return ExecResult("".join(out), "".join(err), code, truncated)


_EXIT_STATUS = re.compile(r"exit (?:status|code) (\d+)")


def _exit_code(session: Any) -> int | None:
    """The command's exit code. The kubelet reports a failure as a Status whose causes
    hold the code; some runtimes (kwok) only say "exit status N" in its message."""
    try:
        return int(session.returncode)
    except (TypeError, ValueError) as error:
        found = _EXIT_STATUS.search(str(error))
        return int(found.group(1)) if found else None


def _body(error: ApiException) -> Any:
    try:
        return json.loads(error.body or "")
    except ValueError:
        return {"message": str(error.reason or error)}
