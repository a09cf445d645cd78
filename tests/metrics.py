"""Reading /metrics in tests: samples by name and labels, whatever other labels they carry."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name` whose labels include `labels` (None when there is none)."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


def buckets(text: str, name: str) -> dict[str, float]:
    """A histogram's buckets, `le` → value."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                found[s.labels["le"]] = float(s.value)
    return found
