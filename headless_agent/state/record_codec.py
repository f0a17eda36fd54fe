"""Records as compact JSON arrays, and back: what the agent sends a hub instead of raw objects.

A raw pod is 3-6 KiB of JSON; its record, as an array of field values in declaration
order, is a few hundred bytes. Encoding and decoding are derived from the dataclasses'
type hints once per class, so a field added to a record travels without further code.
Decoding checks every value's type: an agent is input like any other, and a malformed
record raises ``MalformedObject`` instead of entering the state.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

from headless_agent.state.records import PARSERS, MalformedObject, Record

Decoder = Callable[[Any], Any]


def encode(value: Any) -> Any:
    """A record (or anything made of dataclasses, enums, tuples and scalars) as JSON data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [encode(getattr(value, f.name)) for f in _fields(type(value))]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list | frozenset):
        return [encode(item) for item in value]
    return value


def decode(cls: Any, data: Any) -> Any:
    """The inverse of ``encode`` for a value of type ``cls``; raises ``MalformedObject``."""
    try:
        return _decoder(cls)(data)
    except MalformedObject:
        raise
    except (TypeError, ValueError, KeyError) as error:
        raise MalformedObject(f"{cls.__name__}: {error}") from None


@cache
def _fields(cls: Any) -> tuple[dataclasses.Field[Any], ...]:
    return tuple(f for f in dataclasses.fields(cls) if f.init)


@cache
def _decoder(hint: Any) -> Decoder:
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _dataclass_decoder(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if origin in (types.UnionType, typing.Union):
        options = [a for a in arguments if a is not type(None)]
        if len(options) != 1:
            raise TypeError(f"unsupported union {hint}")
        inner = _decoder(options[0])
        return lambda data: None if data is None else inner(data)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            item = _decoder(arguments[0])
            return lambda data: tuple(item(x) for x in _array(data))
        parts = [_decoder(a) for a in arguments]

        def fixed(data: Any) -> tuple[Any, ...]:
            values = _array(data)
            if len(values) != len(parts):
                raise ValueError(f"expected {len(parts)} values, got {len(values)}")
            return tuple(decode_part(v) for decode_part, v in zip(parts, values, strict=True))

        return fixed
    if origin is frozenset:
        item = _decoder(arguments[0])
        return lambda data: frozenset(item(x) for x in _array(data))
    if hint is float:
        return _float
    if hint in (str, int, bool):
        return _scalar(hint)
    raise TypeError(f"unsupported field type {hint}")


def _dataclass_decoder(cls: Any) -> Decoder:
    hints = typing.get_type_hints(cls)
    fields = _fields(cls)
    decoders = [_decoder(hints[f.name]) for f in fields]

    def build(data: Any) -> Any:
        values = _array(data)
        if len(values) != len(fields):
            raise ValueError(f"expected {len(fields)} fields, got {len(values)}")
        return cls(*(d(v) for d, v in zip(decoders, values, strict=True)))

    return build


def _array(data: Any) -> list[Any]:
    if not isinstance(data, list):
        raise TypeError(f"expected an array, got {type(data).__name__}")
    return data


def _float(data: Any) -> float:
    if isinstance(data, bool) or not isinstance(data, int | float):
        raise TypeError(f"expected a number, got {type(data).__name__}")
    return float(data)


def _scalar(kind: type[Any]) -> Decoder:
    def check(data: Any) -> Any:
        # bool is an int in Python; JSON keeps them apart and so do we.
        if type(data) is not kind:
            raise TypeError(f"expected {kind.__name__}, got {type(data).__name__}")
        return data

    return check


#: the record class each watched kind is parsed into
RECORD_TYPES: dict[str, type[Record]] = {
    kind: typing.get_type_hints(parser)["return"] for kind, parser in PARSERS.items()
}


def decode_record(kind: str, data: Any) -> Record:
    """A record of a watched kind from ``encode``'s output; raises ``MalformedObject``."""
    cls = RECORD_TYPES.get(kind)
    if cls is None:
        raise MalformedObject(f"kind {kind!r} is not watched")
    record: Record = decode(cls, data)
    return record
