"""The assistant's settings: where the model is, which model, and the limits of an answer.

They live in ``assistant-settings.json`` in the user's config folder (plain text, no secret in it).
The API key never does: it comes from the environment (``ATLHYPER_ASSISTANT_API_KEY``) or
the OS keyring (service ``atlhyper-assistant``, user: the base URL), and is never logged.
A local server (Ollama, vLLM, llama.cpp) usually needs no key at all.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import keyring
import keyring.errors
import platformdirs

log = logging.getLogger(__name__)

FILE_NAME = "assistant-settings.json"
KEY_VARIABLE = "ATLHYPER_ASSISTANT_API_KEY"
KEYRING_SERVICE = "atlhyper-assistant"


class KeyringUnavailable(RuntimeError):
    """No OS keyring here (a headless box, a container): use the environment variable."""


@dataclass(frozen=True, slots=True)
class AssistantSettings:
    #: the OpenAI-compatible API's base, e.g. https://api.openai.com/v1 or
    #: http://127.0.0.1:11434/v1 ("": the assistant is off)
    base_url: str = ""
    model: str = ""
    #: tool rounds the model may take for one answer
    max_rounds: int = 6
    #: tokens (prompt + completion, as the API counts them) per day, all answers together
    tokens_per_day: int = 200_000
    #: seconds one answer may take, tool calls included
    timeout: float = 120.0
    #: characters of one tool result sent to the model
    max_tool_output: int = 6000

    @property
    def configured(self) -> bool:
        return bool(self.base_url.strip() and self.model.strip())

    def checked(self) -> AssistantSettings:
        """The same settings with each limit brought into a sane range."""
        return replace(
            self,
            base_url=self.base_url.strip().rstrip("/"),
            model=self.model.strip(),
            max_rounds=min(max(int(self.max_rounds), 1), 20),
            tokens_per_day=max(int(self.tokens_per_day), 1000),
            timeout=min(max(float(self.timeout), 5.0), 900.0),
            max_tool_output=min(max(int(self.max_tool_output), 500), 50_000),
        )


def default_path() -> Path:
    return platformdirs.user_config_path("atlhyper") / FILE_NAME


def from_mapping(raw: Mapping[str, Any]) -> AssistantSettings:
    known = {f.name: f for f in fields(AssistantSettings)}
    values: dict[str, Any] = {}
    defaults = AssistantSettings()
    for name, value in raw.items():
        if name not in known:
            continue
        wanted = type(getattr(defaults, name))
        try:
            values[name] = wanted(value)
        except (TypeError, ValueError):
            log.warning("assistant settings: %s=%r is not a %s; ignored", name, value, wanted)
    return AssistantSettings(**values).checked()


def load(path: Path | None = None) -> AssistantSettings:
    """The saved settings (defaults — the assistant off — if none or unreadable)."""
    target = path or default_path()
    try:
        raw = json.loads(target.read_text())
    except FileNotFoundError:
        return AssistantSettings()
    except (OSError, ValueError) as error:
        log.warning(
            "assistant settings %s cannot be read (%s); the assistant is off", target, error
        )
        return AssistantSettings()
    return from_mapping(raw) if isinstance(raw, dict) else AssistantSettings()


def save(settings: AssistantSettings, path: Path | None = None) -> Path:
    target = path or default_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(asdict(settings.checked()), indent=2) + "\n")
    return target


def api_key(settings: AssistantSettings, environ: Mapping[str, str] | None = None) -> str:
    """The key for ``settings.base_url``: the environment's, else the keyring's, else ""."""
    environment = os.environ if environ is None else environ
    if environment.get(KEY_VARIABLE):
        return environment[KEY_VARIABLE]
    try:
        return keyring.get_password(KEYRING_SERVICE, settings.base_url) or ""
    except keyring.errors.KeyringError as error:
        log.info("no assistant key from the keyring: %s", type(error).__name__)
        return ""


def store_api_key(settings: AssistantSettings, key: str) -> None:
    """Keep ``key`` in the OS keyring for ``settings.base_url`` ("" removes it).

    Raises KeyringUnavailable when there is no keyring to keep it in.
    """
    try:
        if key:
            keyring.set_password(KEYRING_SERVICE, settings.base_url, key)
        else:
            with contextlib.suppress(keyring.errors.PasswordDeleteError):
                keyring.delete_password(KEYRING_SERVICE, settings.base_url)
    except keyring.errors.NoKeyringError:
        raise KeyringUnavailable("no OS keyring is available") from None
    except keyring.errors.KeyringError as error:
        raise KeyringUnavailable(type(error).__name__) from None


def keyring_available() -> bool:
    backend = keyring.get_keyring()
    return float(getattr(backend, "priority", 0)) > 0
