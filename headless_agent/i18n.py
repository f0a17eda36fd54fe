"""Messages in Chinese, English and Japanese, for the desktop and for alert texts alike.

Catalogs are gettext .po files in the top-level ``i18n/`` folder (``i18n/<lang>/atlhyper.po``),
the format translators' tools (Poedit, Weblate, Crowdin) read. They are compiled in memory
with Babel when first used, so there is no generated file to keep in step. Message ids are
symbolic (``anomaly.crash_loop``), never English sentences, and placeholders are named
(``{pod}``), so a translation can reorder them. Plurals use gettext's plural forms, which
Babel derives for each language (one form for zh and ja, two for en): a message whose
catalog entry has plural forms picks its form from its ``{count}`` parameter.

The engine says things as a ``Message`` — an id and its parameters — and each head renders
it in its reader's language (``render``); the English rendering is what logs, the audit
log and API clients that know no catalog read.

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
from babel.dates import format_skeleton as _babel_skeleton
from babel.dates import format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.units import format_unit

LANGUAGES = ("en", "zh", "ja")
DEFAULT_LANGUAGE = "en"
DOMAIN = "atlhyper"
_BABEL_LOCALES = {"en": "en", "zh": "zh_Hans_CN", "ja": "ja_JP"}

#: something said, to be rendered in the reader's language: (message id, parameters)
Message = tuple[str, Mapping[str, Any]]


def catalog_dir() -> Path:
    """Where the .po files are: inside the installed package, or the source tree's i18n/."""
    packaged = Path(__file__).parent / "catalogs"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "i18n"


def catalog_path(language: str) -> Path:
    return catalog_dir() / language / f"{DOMAIN}.po"


@cache
def _compiled(language: str) -> tuple[gettext.GNUTranslations, dict[str, str]]:
    """A language's compiled catalog, and its plural messages (id -> plural id)."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; choose one of {', '.join(LANGUAGES)}")
    with catalog_path(language).open("rb") as po_file:
        catalog = read_po(po_file, locale=_BABEL_LOCALES[language])
    plurals = {
        str(entry.id[0]): str(entry.id[1])
        for entry in catalog
        if entry.id and isinstance(entry.id, tuple | list)
    }
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    compiled = gettext.GNUTranslations(buffer)
    if language != DEFAULT_LANGUAGE:
        compiled.add_fallback(translations(DEFAULT_LANGUAGE))
    return compiled, plurals


def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of a language (English is the fallback for missing entries)."""
    return _compiled(language)[0]


def _format(template: str, params: Mapping[str, Any]) -> str:
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        # A broken translation must never hide the message: show the template and values.
        values = ", ".join(f"{k}={v}" for k, v in params.items())
        return f"{template} [{values}]" if values else template


def message(language: str, message_id: str, **params: Any) -> str:
    """The message ``message_id`` in ``language`` with its placeholders filled in.

    A message with plural forms in the catalog takes the form its ``count`` asks for.
    """
    catalog, plurals = _compiled(language)
    if message_id not in plurals:
        plurals = _compiled(DEFAULT_LANGUAGE)[1]  # a plural English has and this one lacks
    if message_id in plurals:
        count = params.get("count")
        if not isinstance(count, int) or isinstance(count, bool):
            count = 2  # no count known ("?"): the general form
        return _format(catalog.ngettext(message_id, plurals[message_id], count), params)
    return _format(catalog.gettext(message_id), params)


def knows(message_id: str) -> bool:
    """Whether the catalogs have ``message_id`` (a newer agent may send ids we lack)."""
    catalog, plurals = _compiled(DEFAULT_LANGUAGE)
    return message_id in plurals or catalog.gettext(message_id) != message_id


def render(language: str, said: Message) -> str:
    """A ``Message`` (id and parameters) in ``language``."""
    message_id, params = said
    return message(language, message_id, **params)


def english(message_id: str, **params: Any) -> str:
    """The English rendering: what logs, the audit log and catalog-less API clients read."""
    return message(DEFAULT_LANGUAGE, message_id, **params)


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


def format_skeleton(utc_epoch: float, skeleton: str, language: str) -> str:
    """A date in the language's form for a CLDR skeleton (``"Ed"``: day and weekday),
    for the wall-clock time ``utc_epoch`` encodes (no time zone is applied)."""
    moment = datetime.fromtimestamp(utc_epoch, UTC)
    return _babel_skeleton(skeleton, moment, tzinfo=UTC, locale=_BABEL_LOCALES[language])


def format_duration(seconds: float, language: str) -> str:
    """'3 minutes', '3分钟', '3 分' — rounded the way people say durations."""
    return format_timedelta(
        timedelta(seconds=seconds), threshold=1.5, locale=_BABEL_LOCALES[language]
    )


def format_number(value: float, language: str) -> str:
    return format_decimal(value, locale=_BABEL_LOCALES[language])


def format_seconds(seconds: float, language: str) -> str:
    """A short measured time with its unit: '1.2 sec', '1.2秒', '1.2 秒'."""
    return str(
        format_unit(
            seconds,
            "duration-second",
            length="short",
            format="#,##0.0",
            locale=_BABEL_LOCALES[language],
        )
    )
