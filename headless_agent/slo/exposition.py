"""Prometheus text exposition → plain samples, with ``prometheus_client``'s own parser.

Nothing here understands any particular exporter: ``controllers`` picks the families it
knows out of the samples.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


class ExpositionError(ValueError):
    """A /metrics answer that is not the Prometheus text format."""


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


def parse_samples(text: str, wanted: frozenset[str] | None = None) -> Iterator[Sample]:
    """Every sample of the exposition (or only those whose name is in ``wanted``).

    Raises ``ExpositionError`` (with the parser's words) for a broken exposition.
    """
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if wanted is None or sample.name in wanted:
                    yield Sample(sample.name, sample.labels, float(sample.value))
    except ValueError as error:
        raise ExpositionError(f"not a Prometheus exposition: {error}") from None
