"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeHistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

CALLBACKS = Counter(
    "bot_callbacks_total", "WeCom callbacks by endpoint and outcome", ["endpoint", "outcome"]
)
ACK_SECONDS = Histogram(
    "bot_callback_ack_seconds",
    "Time from request to acknowledgement of an accepted callback",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
INBOX_BATCH = Histogram("bot_inbox_batch_size", "Callbacks written per group commit", buckets=(1, 2, 4, 8, 16, 32, 64, 128))
PROCESSED = Counter("bot_messages_processed_total",
                    "Inbox messages processed (outcome: done, failed, or elsewhere: finished by another instance first)",
                    ["outcome"])
PROCESS_SECONDS = Histogram(
    "bot_message_processing_seconds",
    "Time from receipt to the end of processing of a message",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
QUEUE_DEPTH = Gauge("bot_queue_depth", "Work waiting", ["queue"])
OCR_READS = Counter("bot_ocr_reads_total", "Files read by the OCR workers, by how the read ended", ["outcome"])
OCR_WAITING = Gauge("bot_ocr_waiting", "Files being read or waiting for an OCR worker")
OUTBOUND = Counter("bot_outbound_total", "Outbound WeCom calls by channel and outcome", ["channel", "outcome"])
WECOM_API = Counter("bot_wecom_api_calls_total", "WeCom API calls by path and outcome", ["path", "outcome"])
OUTBOUND_DEFERRED = Counter(
    "bot_outbound_deferred_total", "Sends held back to stay inside WeCom's per-recipient window", ["channel"]
)
OUTBOUND_FOLDED = Counter("bot_outbound_folded_total", "Cards folded into a digest instead of sent one by one")
WECOM_CREDENTIALS = Gauge("bot_wecom_credentials_ok", "1 while WeCom accepts the app secret, 0 while gettoken says 40001")
WECOM_CREDENTIALS.set(1)
CONNECTIONS_EVICTED = Counter(
    "bot_http_connections_evicted_total", "Idle connections closed to make room at BOT_MAX_CONNECTIONS"
)
CONNECTIONS_REFUSED = Counter(
    "bot_http_connections_refused_total", "Connections turned away at BOT_MAX_CONNECTIONS, every open one busy"
)

HOUR = 3600.0
APPROVAL_SECONDS = Histogram(
    "bot_approval_seconds",
    "Wall-clock approval time: per step (stage = the step's name) and submission to decision (stage = end_to_end)",
    ["stage", "outcome"],
    buckets=(60, 300, 900, HOUR, 4 * HOUR, 8 * HOUR, 24 * HOUR, 48 * HOUR, 72 * HOUR, 168 * HOUR),
)
BACKLOG_BUCKETS = (0, 1, 2, 5, 10, 30, 100)


class RecipientBacklog(Collector):
    """Gauge histogram of outbound rows waiting per recipient (how many recipients wait for at most N
    messages), from the last snapshot of the outbound table; no recipient is named."""

    def __init__(self) -> None:
        self.waiting: list[int] = []

    def update(self, waiting: Iterable[int]) -> None:
        self.waiting = list(waiting)

    def collect(self) -> Iterator[GaugeHistogramMetricFamily]:
        buckets = [(str(le), float(sum(1 for n in self.waiting if n <= le))) for le in BACKLOG_BUCKETS]
        buckets.append(("+Inf", float(len(self.waiting))))
        yield GaugeHistogramMetricFamily("bot_outbound_recipient_waiting",
                                         "Recipients by the number of outbound messages waiting for them",
                                         buckets=buckets, gsum_value=float(sum(self.waiting)))


RECIPIENT_BACKLOG = RecipientBacklog()
REGISTRY.register(RECIPIENT_BACKLOG)


class Labelled:
    """A registry's metrics with constant labels added to every sample (`instance`, `role`), so the
    figures of several instances stay apart wherever they are collected."""

    def __init__(self, registry: CollectorRegistry, **labels: str) -> None:
        self.registry = registry
        self.labels = labels

    def collect(self) -> Iterator[Metric]:
        for metric in self.registry.collect():
            copy = Metric(metric.name, metric.documentation, metric.type, metric.unit)
            copy.samples = [sample._replace(labels={**sample.labels, **self.labels}) for sample in metric.samples]
            yield copy
