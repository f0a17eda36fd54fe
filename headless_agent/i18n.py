"""Messages in Chinese, English and Japanese, for the desktop and for alert texts alike.

Catalogs are gettext .po files in the top-level ``i18n/`` folder (``i18n/<lang>/atlhyper.po``),
the format translators' tools (Poedit, Weblate, Crowdin) read. They are compiled in memory
with Babel when first used, so there is no generated file to keep in step. Message ids are
symbolic (``anomaly.crash_loop``), never English sentences, and placeholders are named
(``{pod}``), so a translation can reorder them. Plurals use gettext's plural forms, which
Babel derives for each language (one form for zh and ja, two for en).

Dates, times, durations and numbers are formatted for the language with Babel as well.
"""

from __future__ import annotations

import gettext
import io
import locale
import string
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime as _babel_datetime
from babel.dates import format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = ("en", "zh", "ja")
DEFAULT_LANGUAGE = "en"
DOMAIN = "atlhyper"
_BABEL_LOCALES = {"en": "en", "zh": "zh_Hans_CN", "ja": "ja_JP"}


def catalog_dir() -> Path:
    """Where the .po files are: inside the installed package, or the source tree's i18n/."""
    packaged = Path(__file__).parent / "catalogs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "i18n"


def catalog_path(language: str) -> Path:
    return catalog_dir() / language / f"{DOMAIN}.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (English is the fallback for missing entries)."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; choose one of {', '.join(LANGUAGES)}")
    with catalog_path(language).open("rb") as po_file:
        catalog = read_po(po_file, locale=_BABEL_LOCALES[language])
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    compiled = gettext.GNUTranslations(buffer)
    if language != DEFAULT_LANGUAGE:
        compiled.add_fallback(translations(DEFAULT_LANGUAGE))
    return compiled


def _format(template: str, params: Mapping[str, Any]) -> str:
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        # A broken translation must never hide the message: show the template and values.
        values = ", ".join(f"{k}={v}" for k, v in params.items())
        return f"{template} [{values}]" if values else template


def message(language: str, message_id: str, **params: Any) -> str:
    """The message ``message_id`` in ``language`` with its placeholders filled in."""
    return _format(translations(language).gettext(message_id), params)


def plural(language: str, message_id: str, plural_id: str, count: int, **params: Any) -> str:
    """A message whose form depends on ``count`` (also passed as the ``{count}`` placeholder)."""
    template = translations(language).ngettext(message_id, plural_id, count)
    return _format(template, {"count": count, **params})


def placeholders(template: str) -> set[str]:
    """The named placeholders of a message template."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def system_language() -> str:
    """The UI language the system locale asks for, if we have it; English otherwise."""
    name = locale.getlocale(locale.LC_MESSAGES)[0] or ""
    try:
        language = Locale.parse(name).language if name else DEFAULT_LANGUAGE
    except (ValueError, UnknownLocaleError):
        language = DEFAULT_LANGUAGE
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def format_time(epoch: float, language: str) -> str:
    """A date and time in the language's usual form, in the local time zone."""
    moment = datetime.fromtimestamp(epoch, UTC).astimezone()
    return _babel_datetime(moment, "medium", locale=_BABEL_LOCALES[language])


def format_duration(seconds: float, language: str) -> str:
    """'3 minutes', '3分钟', '3 分' — rounded the way people say durations."""
    return format_timedelta(
        timedelta(seconds=seconds), threshold=1.5, locale=_BABEL_LOCALES[language]
    )


def format_number(value: float, language: str) -> str:
    return format_decimal(value, locale=_BABEL_LOCALES[language])
