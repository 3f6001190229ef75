"""Every Prometheus metric bounce-stream exposes, defined against a registry passed in.

Labels stay low-cardinality: mailbox *name* (from the config), outcome, reason class.
Never an address or a domain. Next to the bounce_stream_* metrics the registry carries the
client library's standard process_* (RSS, start time, open fds, CPU) and python_* (GC,
version) families under their usual names, so stock dashboards and alerts find them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)

from bounce_stream import __version__

PREFIX = "bounce_stream"

# The image sets it from its REVISION build argument (the git commit).
REVISION_ENV = "BOUNCE_STREAM_REVISION"
_REVISION = re.compile(r"[0-9A-Za-z._-]{1,64}")


def revision() -> str:
    """The source revision this build came from, or "unknown" (never free-form text)."""
    value = os.environ.get(REVISION_ENV, "").strip()
    return value if _REVISION.fullmatch(value) else "unknown"


_BATCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_COMMIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_LAG_BUCKETS = (1, 5, 15, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600)


@dataclass(frozen=True, slots=True)
class Metrics:
    registry: CollectorRegistry
    build_info: Info
    polls: Counter
    messages_fetched: Counter
    bytes_fetched: Counter
    events_published: Counter
    not_bounce: Counter
    dead_lettered: Counter
    archived: Counter
    imap_errors: Counter
    imap_sessions_renewed: Counter
    kafka_errors: Counter
    transactions: Counter
    fenced: Counter
    checkpoint_uid: Gauge
    checkpoint_uidvalidity: Gauge
    backlog: Gauge
    last_success: Gauge
    mailbox_up: Gauge
    batch_duration: Histogram
    commit_duration: Histogram
    end_to_end_lag: Histogram
    classify_timeouts: Counter
    classify_worker_restarts: Counter
    classify_workers: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> Metrics:
        # `_created` series double the exposition and no dashboard or alert reads them.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        mb = ("mailbox",)
        info = Info(f"{PREFIX}_build", "Build information.", registry=reg)
        info.info({"version": __version__, "revision": revision()})
        # The default registry's instances: they only read /proc and gc, they keep no state.
        for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            reg.register(collector)
        return cls(
            registry=reg,
            build_info=info,
            polls=Counter(
                f"{PREFIX}_polls",
                "Looks for new mail: one UID SEARCH past the position.",
                mb,
                registry=reg,
            ),
            messages_fetched=Counter(
                f"{PREFIX}_messages_fetched", "Messages fetched from IMAP.", mb, registry=reg
            ),
            bytes_fetched=Counter(
                f"{PREFIX}_fetched_bytes", "Message bytes fetched from IMAP.", mb, registry=reg
            ),
            events_published=Counter(
                f"{PREFIX}_events_published",
                "Bounce events committed to Kafka, by bounce type (hard/soft/undetermined).",
                ("mailbox", "bounce_type"),
                registry=reg,
            ),
            not_bounce=Counter(
                f"{PREFIX}_not_bounce_messages",
                "Messages that were read and are not bounces (no event).",
                mb,
                registry=reg,
            ),
            dead_lettered=Counter(
                f"{PREFIX}_dead_lettered_messages",
                "Messages committed to the dead-letter topic, by cause "
                "(unparseable/oversized/timeout/crashed/unencodable).",
                ("mailbox", "cause"),
                registry=reg,
            ),
            archived=Counter(
                f"{PREFIX}_archived_messages",
                "Messages committed to the archive topic, whole (complete) or cut at "
                "kafka.archive_max_bytes (truncated).",
                ("mailbox", "outcome"),
                registry=reg,
            ),
            imap_errors=Counter(
                f"{PREFIX}_imap_errors",
                "IMAP errors, by reason (auth/connect/timeout/protocol).",
                ("mailbox", "reason"),
                registry=reg,
            ),
            imap_sessions_renewed=Counter(
                f"{PREFIX}_imap_sessions_renewed",
                "IMAP sessions signed in again with a newer OAuth2 token before the old one "
                "expired, by connection (fetching/idle).",
                ("mailbox", "connection"),
                registry=reg,
            ),
            kafka_errors=Counter(
                f"{PREFIX}_kafka_errors", "Kafka errors (start, send, commit).", mb, registry=reg
            ),
            transactions=Counter(
                f"{PREFIX}_transactions",
                "Kafka transactions by outcome (committed/aborted).",
                ("mailbox", "outcome"),
                registry=reg,
            ),
            fenced=Counter(
                f"{PREFIX}_fenced",
                "Times this instance's producer was fenced by another owner of the mailbox.",
                mb,
                registry=reg,
            ),
            checkpoint_uid=Gauge(
                f"{PREFIX}_checkpoint_uid", "Last committed IMAP UID.", mb, registry=reg
            ),
            checkpoint_uidvalidity=Gauge(
                f"{PREFIX}_checkpoint_uidvalidity",
                "UIDVALIDITY of the committed checkpoint.",
                mb,
                registry=reg,
            ),
            backlog=Gauge(
                f"{PREFIX}_backlog_messages",
                "Messages in the mailbox beyond the checkpoint, as of the last poll.",
                mb,
                registry=reg,
            ),
            last_success=Gauge(
                f"{PREFIX}_last_success_timestamp_seconds",
                "Unix time of the last successfully committed batch (or idle poll).",
                mb,
                registry=reg,
            ),
            mailbox_up=Gauge(
                f"{PREFIX}_mailbox_up",
                "1 when the mailbox is connected and its producer initialised, else 0.",
                mb,
                registry=reg,
            ),
            batch_duration=Histogram(
                f"{PREFIX}_batch_duration_seconds",
                "Fetch + classify + commit time of one batch.",
                mb,
                buckets=_BATCH_BUCKETS,
                registry=reg,
            ),
            commit_duration=Histogram(
                f"{PREFIX}_kafka_commit_duration_seconds",
                "Time to commit one Kafka transaction.",
                mb,
                buckets=_COMMIT_BUCKETS,
                registry=reg,
            ),
            end_to_end_lag=Histogram(
                f"{PREFIX}_end_to_end_lag_seconds",
                "Bounce arrival in the mailbox (IMAP INTERNALDATE) to Kafka commit.",
                mb,
                buckets=_LAG_BUCKETS,
                registry=reg,
            ),
            classify_timeouts=Counter(
                f"{PREFIX}_classify_timeouts",
                "Messages not classified within detection.timeout_seconds (dead-lettered).",
                registry=reg,
            ),
            classify_worker_restarts=Counter(
                f"{PREFIX}_classify_worker_restarts",
                "Classification worker processes replaced, by cause (timeout/exited).",
                ("cause",),
                registry=reg,
            ),
            classify_workers=Gauge(
                f"{PREFIX}_classify_workers",
                "Classification worker processes running and ready.",
                registry=reg,
            ),
        )


@dataclass(frozen=True, slots=True)
class SuppressionMetrics:
    """Metrics of `bounce-stream suppress` (its own process and registry)."""

    registry: CollectorRegistry
    build_info: Info
    events_consumed: Counter
    changes: Counter
    transactions: Counter
    rebuilds: Counter
    recipients: Gauge
    suppressed: Gauge
    lag: Gauge
    rebuild_duration: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> SuppressionMetrics:
        disable_created_metrics()  # type: ignore[no-untyped-call]
        reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        info = Info(f"{PREFIX}_suppress_build", "bounce-stream suppress version.", registry=reg)
        info.info({"version": __version__})
        return cls(
            registry=reg,
            build_info=info,
            events_consumed=Counter(
                f"{PREFIX}_suppress_events_consumed",
                "Bounce events read by the suppression processor, by outcome "
                "(counted/ignored).",
                ("outcome",),
                registry=reg,
            ),
            changes=Counter(
                f"{PREFIX}_suppression_changes",
                "SuppressionChanged events committed, by change (suppressed/released) and rule.",
                ("change", "rule"),
                registry=reg,
            ),
            transactions=Counter(
                f"{PREFIX}_suppress_transactions",
                "Suppression processor transactions by outcome (committed/aborted).",
                ("outcome",),
                registry=reg,
            ),
            rebuilds=Counter(
                f"{PREFIX}_suppress_state_rebuilds",
                "Times the in-memory state of a partition was rebuilt from the recipients topic.",
                registry=reg,
            ),
            recipients=Gauge(
                f"{PREFIX}_suppress_recipients",
                "Recipients with state in memory (assigned partitions).",
                registry=reg,
            ),
            suppressed=Gauge(
                f"{PREFIX}_suppress_suppressed_recipients",
                "Recipients currently suppressed (assigned partitions).",
                registry=reg,
            ),
            lag=Gauge(
                f"{PREFIX}_suppress_lag_records",
                "Offsets not yet processed (committed events, and commit markers), per events "
                "partition this processor owns: its end minus the position, as of the last fetch.",
                ("partition",),
                registry=reg,
            ),
            rebuild_duration=Histogram(
                f"{PREFIX}_suppress_rebuild_duration_seconds",
                "Time to rebuild one partition's state from the recipients topic.",
                buckets=_BATCH_BUCKETS,
                registry=reg,
            ),
        )
