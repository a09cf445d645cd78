"""Prometheus metrics, served at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CALLBACKS = Counter(
    "bot_callbacks_total", "WeCom callbacks by endpoint and outcome", ["endpoint", "outcome"]
)
ACK_SECONDS = Histogram(
    "bot_callback_ack_seconds",
    "Time from request to acknowledgement of an accepted callback",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0),
)
INBOX_BATCH = Histogram("bot_inbox_batch_size", "Callbacks written per group commit", buckets=(1, 2, 4, 8, 16, 32, 64, 128))
PROCESSED = Counter("bot_messages_processed_total", "Inbox messages processed", ["outcome"])
PROCESS_SECONDS = Histogram(
    "bot_message_processing_seconds",
    "Time from receipt to the end of processing of a message",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
QUEUE_DEPTH = Gauge("bot_queue_depth", "Work waiting", ["queue"])
OUTBOUND = Counter("bot_outbound_total", "Outbound WeCom calls by channel and outcome", ["channel", "outcome"])
WECOM_API = Counter("bot_wecom_api_calls_total", "WeCom API calls by path and outcome", ["path", "outcome"])
OUTBOUND_DEFERRED = Counter(
    "bot_outbound_deferred_total", "Sends held back to stay inside WeCom's per-recipient window", ["channel"]
)
OUTBOUND_FOLDED = Counter("bot_outbound_folded_total", "Cards folded into a digest instead of sent one by one")
OUTBOUND_BACKLOG = Gauge(
    "bot_outbound_recipient_backlog",
    "Recipients by the number of outbound rows waiting for them (no recipient is named)",
    ["size"],
)
BACKLOG_SIZES = (("1", 1), ("2-5", 5), ("6-30", 30), ("31+", None))
WECOM_CREDENTIALS = Gauge("bot_wecom_credentials_ok", "1 while WeCom accepts the app secret, 0 while gettoken says 40001")
WECOM_CREDENTIALS.set(1)
CONNECTIONS_EVICTED = Counter(
    "bot_http_connections_evicted_total", "Idle connections closed to make room at BOT_MAX_CONNECTIONS"
)
CONNECTIONS_REFUSED = Counter(
    "bot_http_connections_refused_total", "Connections turned away at BOT_MAX_CONNECTIONS, every open one busy"
)
