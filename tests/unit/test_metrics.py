"""Metric definitions: naming conventions, label cardinality, registry isolation, promtool lint."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import time

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics import MetricWrapperBase

from bounce_stream import __version__
from bounce_stream.metrics import Metrics, revision

# Label names that would carry an address or a domain (unbounded cardinality, personal data).
_FORBIDDEN_LABEL = re.compile(r"addr|recipient|domain|email|mail_?from|sender|rcpt|user", re.I)


def _populated() -> Metrics:
    """Metrics with at least one series on every labelled metric."""
    m = Metrics.create(CollectorRegistry())
    for mailbox in ("main", "secondary"):
        m.polls.labels(mailbox=mailbox).inc()
        m.messages_fetched.labels(mailbox=mailbox).inc(3)
        m.bytes_fetched.labels(mailbox=mailbox).inc(4096)
        m.events_published.labels(mailbox=mailbox, bounce_type="hard").inc(2)
        m.events_published.labels(mailbox=mailbox, bounce_type="soft").inc()
        m.not_bounce.labels(mailbox=mailbox).inc()
        m.dead_lettered.labels(mailbox=mailbox, cause="unparseable").inc()
        m.archived.labels(mailbox=mailbox, outcome="complete").inc()
        m.imap_errors.labels(mailbox=mailbox, reason="connect").inc()
        m.imap_sessions_renewed.labels(mailbox=mailbox, connection="idle").inc()
        m.kafka_errors.labels(mailbox=mailbox).inc()
        m.transactions.labels(mailbox=mailbox, outcome="committed").inc()
        m.transactions.labels(mailbox=mailbox, outcome="aborted").inc()
        m.fenced.labels(mailbox=mailbox).inc()
        m.checkpoint_uid.labels(mailbox=mailbox).set(1234)
        m.checkpoint_uidvalidity.labels(mailbox=mailbox).set(1_700_000_000)
        m.backlog.labels(mailbox=mailbox).set(17)
        m.last_success.labels(mailbox=mailbox).set(1_790_000_000.5)
        m.mailbox_up.labels(mailbox=mailbox).set(1)
        m.batch_duration.labels(mailbox=mailbox).observe(0.42)
        m.commit_duration.labels(mailbox=mailbox).observe(0.012)
        m.end_to_end_lag.labels(mailbox=mailbox).observe(75)
    m.classify_timeouts.inc()
    m.classify_worker_restarts.labels(cause="timeout").inc()
    m.classify_workers.set(2)
    return m


def _collectors(m: Metrics) -> list[MetricWrapperBase]:
    values = [getattr(m, f.name) for f in dataclasses.fields(m)]
    return [v for v in values if isinstance(v, MetricWrapperBase)]


# The client library's standard families keep their usual names (stock dashboards use them).
_STANDARD_FAMILIES = {
    "process_virtual_memory_bytes",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
    "process_cpu_seconds",
    "process_open_fds",
    "process_max_fds",
    "python_info",
    "python_gc_objects_collected",
    "python_gc_objects_uncollectable",
    "python_gc_collections",
}


def test_every_metric_name_has_prefix() -> None:
    """Every exposed family but the standard process_*/python_* ones is named bounce_stream_*."""
    families = [f for f in _populated().registry.collect() if f.name not in _STANDARD_FAMILIES]
    assert len(families) >= 19
    for family in families:
        assert family.name.startswith("bounce_stream_"), family.name
        for sample in family.samples:
            assert sample.name.startswith("bounce_stream_"), sample.name


def test_counters_end_in_total() -> None:
    """Every counter sample in the exposition is named *_total (no _created series)."""
    counters = [f for f in _populated().registry.collect() if f.type == "counter"]
    assert len(counters) >= 10
    for family in counters:
        assert family.samples, family.name
        for sample in family.samples:
            assert sample.name.endswith("_total"), sample.name


def test_non_counters_do_not_end_in_total() -> None:
    """Gauges and histograms never carry the counter suffix."""
    for family in _populated().registry.collect():
        if family.type != "counter":
            assert not family.name.endswith("_total"), family.name


def test_histograms_are_in_seconds() -> None:
    """Durations are histograms in the base unit, named *_seconds."""
    histograms = [f for f in _populated().registry.collect() if f.type == "histogram"]
    assert histograms
    assert all(f.name.endswith("_seconds") for f in histograms)


def test_no_high_cardinality_labels() -> None:
    """No metric has a label for an address, recipient, domain or sender."""
    # prometheus_client has no public accessor for the declared label names.
    labelnames = {name for collector in _collectors(_populated()) for name in collector._labelnames}
    assert "mailbox" in labelnames
    offending = sorted(n for n in labelnames if _FORBIDDEN_LABEL.search(n))
    assert offending == []


def test_exposed_label_names_are_the_low_cardinality_set() -> None:
    """The label names in the exposition are only mailbox, bounce_type, cause, outcome, reason,
    connection (fetching/idle) and le."""
    exposed = {
        label
        for family in _populated().registry.collect()
        for sample in family.samples
        for label in sample.labels
        if not family.name.endswith("_build") and family.name not in _STANDARD_FAMILIES
    }
    assert exposed == {"mailbox", "bounce_type", "cause", "outcome", "reason", "connection", "le"}


def test_create_twice_with_separate_registries() -> None:
    """Creating Metrics twice, each with its own registry, does not raise on duplicates."""
    first = Metrics.create(CollectorRegistry())
    second = Metrics.create(CollectorRegistry())
    first.polls.labels(mailbox="a").inc()
    assert second.registry.get_sample_value("bounce_stream_polls_total", {"mailbox": "a"}) is None
    assert first.registry.get_sample_value("bounce_stream_polls_total", {"mailbox": "a"}) == 1.0


def test_create_without_registry_uses_a_private_one() -> None:
    """Without a registry argument, each Metrics gets its own (never the global default)."""
    a = Metrics.create()
    b = Metrics.create()
    assert a.registry is not b.registry
    assert a.registry is not REGISTRY


def test_same_registry_twice_raises() -> None:
    """Registering the metrics twice in one registry is refused (duplicates are a bug)."""
    registry = CollectorRegistry()
    Metrics.create(registry)
    with pytest.raises(ValueError, match="Duplicated"):
        Metrics.create(registry)


def test_build_info_has_version() -> None:
    """bounce_stream_build_info carries the package version as a label."""
    m = Metrics.create(CollectorRegistry())
    labels = {"version": __version__, "revision": revision()}
    assert m.registry.get_sample_value("bounce_stream_build_info", labels) == 1


def test_build_info_has_revision_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The revision label comes from BOUNCE_STREAM_REVISION, "unknown" when unset or odd."""
    monkeypatch.setenv("BOUNCE_STREAM_REVISION", "0123abcd")
    m = Metrics.create(CollectorRegistry())
    labels = {"version": __version__, "revision": "0123abcd"}
    assert m.registry.get_sample_value("bounce_stream_build_info", labels) == 1
    for odd in ("", "a b", "x" * 65, 'x"}'):
        monkeypatch.setenv("BOUNCE_STREAM_REVISION", odd)
        assert revision() == "unknown"
    monkeypatch.delenv("BOUNCE_STREAM_REVISION")
    assert revision() == "unknown"


def test_process_platform_and_gc_collectors_are_exposed() -> None:
    """The private registry exposes RSS, start time, open fds, python_info and GC counts."""
    registry = Metrics.create(CollectorRegistry()).registry
    rss = registry.get_sample_value("process_resident_memory_bytes")
    assert rss is not None
    assert rss > 1024 * 1024
    start = registry.get_sample_value("process_start_time_seconds")
    assert start is not None
    assert 0 < time.time() - start < 24 * 3600
    fds = registry.get_sample_value("process_open_fds")
    assert fds is not None
    assert fds >= 3
    names = {family.name for family in registry.collect()}
    assert {"python_info", "python_gc_collections"} <= names
    assert names >= _STANDARD_FAMILIES


def test_collectors_fit_on_two_private_registries() -> None:
    """Two private registries both carry the process collector (tests create many)."""
    first = Metrics.create(CollectorRegistry()).registry
    second = Metrics.create(CollectorRegistry()).registry
    assert first.get_sample_value("process_open_fds") is not None
    assert second.get_sample_value("process_open_fds") is not None


def test_promtool_check_metrics_passes() -> None:
    """promtool check metrics finds no problem in the exposition of populated metrics."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is not on PATH; install it as the README says "
            "(Debian/Ubuntu: apt-get install prometheus) and run the tests again"
        )
    exposition = generate_latest(_populated().registry)
    assert b"bounce_stream_events_published_total{" in exposition
    proc = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition,
        capture_output=True,
        timeout=60,
        check=False,
    )
    report = (proc.stdout + proc.stderr).decode(errors="replace")
    assert proc.returncode == 0, report
    assert report.strip() == "", report
