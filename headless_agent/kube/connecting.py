"""Turn one kubeconfig context into what an HTTP client needs: URL, TLS and credentials.

The official client's loader does the authentication work (client certificates, inline
data, bearer tokens and token files, exec credential plugins, OIDC id-tokens with refresh,
the in-cluster service account); this module adds what a desktop app needs around it:

- an extra search PATH for exec plugins (an app started from a menu does not inherit the
  shell's PATH), and a clear error when the plugin is missing;
- the plugin's own error message when it fails (the loader only logs it);
- an ``ssl.SSLContext`` and an Authorization header for httpx;
- refresh when a credential expires, or on demand after a 401.

Everything here blocks (files, subprocesses): call it from a worker thread.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes import client as kube_client
from kubernetes import config as kube_config
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.exec_provider import ExecProvider
from kubernetes.config.kube_config import ConfigNode

from headless_agent.kube.errors import ConfigError, ExecPluginFailed, ExecPluginMissing
from headless_agent.kube.kubeconfig import KubeconfigSet


@functools.cache
def _temp_dir() -> str:
    """Where the loader materialises keys and certificates from inline kubeconfig data:
    readable by us only, removed when the process ends. Made on first use, so a process
    that never needs it (the agent in a pod, with a read-only root) never asks for one."""
    folder = tempfile.mkdtemp(prefix="atlhyper-kube-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


@dataclass(slots=True)
class Credentials:
    """A resolved connection to one API server. Not thread-safe; refresh from one thread."""

    server: str
    ssl_context: ssl.SSLContext
    authorization: str | None
    _configuration: Any
    _rebuild: Callable[[], Credentials]

    def refresh_if_expired(self) -> None:
        """Run the loader's refresh hook (exec plugin / OIDC) if the credential expired."""
        hook = getattr(self._configuration, "refresh_api_key_hook", None)
        if hook is not None:
            hook(self._configuration)
            self.authorization = _authorization(self._configuration)

    @property
    def configuration(self) -> Any:
        """The official client's configuration (for what only that client speaks: exec)."""
        return self._configuration

    def reload(self) -> None:
        """Build everything again from the kubeconfig (after a 401, or a changed file)."""
        fresh = self._rebuild()
        self.server, self.ssl_context = fresh.server, fresh.ssl_context
        self.authorization, self._configuration = fresh.authorization, fresh._configuration


_lock = threading.Lock()


def resolve_credentials(
    kubeconfigs: KubeconfigSet, context: str, *, extra_path: Sequence[str] = ()
) -> Credentials:
    """Resolve a context's server, TLS settings and credentials (blocking).

    Raises:
        ConfigError: the context is missing or malformed.
        ExecPluginMissing: its exec plugin is not on PATH (nor on ``extra_path``).
        ExecPluginFailed: the plugin ran and failed; the message has its stderr.
    """

    def build() -> Credentials:
        configuration = kube_client.Configuration()
        try:
            if kubeconfigs.in_cluster and context == "in-cluster":
                kube_config.load_incluster_config(client_configuration=configuration)
                exec_config = None
            else:
                document = kubeconfigs.config_dict(context)
                exec_config = _resolve_exec_command(document, extra_path)
                # The loader keeps module-level temp-file state; one load at a time.
                with _lock:
                    kube_config.load_kube_config_from_dict(
                        document,
                        context=context,
                        client_configuration=configuration,
                        persist_config=False,
                        temp_file_path=_temp_dir(),
                    )
        except KeyError as error:
            raise ConfigError(str(error.args[0])) from None
        except ConfigException as error:
            raise ConfigError(f"context {context!r}: {error}") from None
        authorization = _authorization(configuration)
        if exec_config is not None and not authorization and not configuration.cert_file:
            raise ExecPluginFailed(_exec_failure_message(exec_config))
        return Credentials(
            server=str(configuration.host).rstrip("/"),
            ssl_context=_ssl_context(configuration),
            authorization=authorization,
            _configuration=configuration,
            _rebuild=build,
        )

    return build()


def _authorization(configuration: Any) -> str | None:
    keys = configuration.api_key or {}
    value = keys.get("BearerToken") or keys.get("authorization")
    if not value:
        return None
    prefix = (configuration.api_key_prefix or {}).get("authorization")
    return f"{prefix} {value}" if prefix else str(value)


def _resolve_exec_command(
    document: dict[str, Any], extra_path: Sequence[str]
) -> dict[str, Any] | None:
    user = document["users"][0]["user"]
    exec_config = user.get("exec") if isinstance(user, dict) else None
    if not isinstance(exec_config, dict):
        return None
    command = exec_config.get("command")
    if not isinstance(command, str) or not command:
        raise ConfigError("exec credential plugin has no command")
    search = os.pathsep.join([*extra_path, os.environ.get("PATH", "")])
    found = shutil.which(command, path=search)
    if found is None:
        hint = exec_config.get("installHint") or ""
        raise ExecPluginMissing(
            f"exec credential plugin {command!r} was not found "
            f"(searched PATH and {len(extra_path)} extra folder(s): "
            f"{', '.join(extra_path) or 'none set'}). {hint}".strip()
        )
    exec_config["command"] = found
    return exec_config


def _exec_failure_message(exec_config: dict[str, Any]) -> str:
    """Run the plugin once more through the client's ExecProvider to capture its error."""
    try:
        ExecProvider(ConfigNode("exec", exec_config), None).run()
    except ConfigException as error:
        return f"exec credential plugin {exec_config['command']!r} failed: {error}"
    except OSError as error:
        return f"exec credential plugin {exec_config['command']!r} cannot run: {error}"
    return f"exec credential plugin {exec_config['command']!r} returned no token or certificate"


def _ssl_context(configuration: Any) -> ssl.SSLContext:
    if configuration.verify_ssl:
        context = ssl.create_default_context(cafile=configuration.ssl_ca_cert or None)
    else:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if configuration.cert_file:
        try:
            context.load_cert_chain(configuration.cert_file, configuration.key_file)
        except (OSError, ssl.SSLError) as error:
            raise ConfigError(f"client certificate cannot be loaded: {error}") from None
    return context
