"""Small readers for raw Kubernetes JSON: timestamps, quantities, conditions, owners.

They never raise on odd input: a missing or malformed field reads as "unknown" (None, 0,
empty), because one strange object from an API server must not stop a cluster's view.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from kubernetes.utils.quantity import parse_quantity

Raw = dict[str, Any]


@lru_cache(maxsize=8192)
def timestamp(value: str | None) -> float | None:
    """RFC 3339 (as the API writes it) to epoch seconds; None when absent or malformed."""
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _quantity(value: str) -> Decimal | None:
    try:
        return Decimal(parse_quantity(value))
    except (ValueError, InvalidOperation, TypeError):
        return None


def millicores(value: Any) -> int:
    """CPU quantity ('250m', '2', 0.5) to millicores; 0 when absent or malformed."""
    if value is None:
        return 0
    quantity = _quantity(str(value))
    return int(quantity * 1000) if quantity is not None else 0


def byte_count(value: Any) -> int:
    """Memory/storage quantity ('64Mi', '1G') to bytes; 0 when absent or malformed."""
    if value is None:
        return 0
    quantity = _quantity(str(value))
    return int(quantity) if quantity is not None else 0


def whole(value: Any) -> int:
    """An integer field, 0 if absent or not an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def mapping(value: Any) -> Raw:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list[Raw]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def labels_of(metadata: Raw) -> tuple[tuple[str, str], ...]:
    labels = mapping(metadata.get("labels"))
    return tuple(sorted((str(k), str(v)) for k, v in labels.items()))


def controller_of(metadata: Raw) -> tuple[str, str]:
    """The (kind, name) of the managing controller from ownerReferences, or ('', '')."""
    references = items(metadata.get("ownerReferences"))
    for reference in references:
        if reference.get("controller"):
            return text(reference.get("kind")), text(reference.get("name"))
    if references:
        return text(references[0].get("kind")), text(references[0].get("name"))
    return "", ""


def condition(conditions: list[Raw], kind: str) -> Raw | None:
    for entry in conditions:
        if entry.get("type") == kind:
            return entry
    return None
