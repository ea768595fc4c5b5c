"""The metrics registry and its text rendering (no store, no loop)."""

from __future__ import annotations

import time

import pytest

from smppgate.service.metrics import Metrics, Registry, escape_label_value


def test_label_values_are_escaped() -> None:
    assert escape_label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'


def test_render_counters_and_gauges() -> None:
    registry = Registry()
    counter = registry.counter("x_total", "Things\nhappened.", ("kind",))
    gauge = registry.gauge("y", "A level.")
    counter.inc('q"')
    counter.inc('q"', amount=2)
    gauge.set(value=1.5)
    assert registry.render() == (
        "# HELP x_total Things\\nhappened.\n"
        "# TYPE x_total counter\n"
        'x_total{kind="q\\""} 3\n'
        "# HELP y A level.\n"
        "# TYPE y gauge\n"
        "y 1.5\n"
    )
    with pytest.raises(ValueError, match="twice"):
        registry.gauge("y", "again")


def test_session_state_is_idempotent() -> None:
    metrics = Metrics()
    metrics.session_state("promo", "h1:2775", "s1", bound=True)
    metrics.session_state("promo", "h1:2775", "s1", bound=True)
    metrics.session_state("promo", "h1:2775", "s2", bound=True)
    metrics.session_state("promo", "h2:2775", "s3", bound=True)
    metrics.session_state("promo", "h1:2775", "s2", bound=False)
    metrics.session_state("promo", "h1:2775", "s2", bound=False)
    assert metrics.bound_sessions.get("promo", "h1:2775") == 1
    assert metrics.bound_per_account() == {"promo": 2}


def test_snapshot_holds_every_metric() -> None:
    metrics = Metrics()
    metrics.submitted("promo", 3)
    metrics.response("promo", "ESME_RTHROTTLED")
    metrics.receipt("delivered")
    metrics.reconnect("promo", "h1")
    metrics.window("promo", "s1", 7)
    snap = metrics.snapshot()
    assert snap["smppgate_submits_total"] == [{"account": "promo", "value": 3.0}]
    assert snap["smppgate_responses_total"] == [
        {"account": "promo", "status": "ESME_RTHROTTLED", "value": 1.0}
    ]
    assert snap["smppgate_window_in_use"] == [{"account": "promo", "session": "s1", "value": 7}]
    assert snap["submits_per_second"] == 0.0


def test_histograms_render_cumulative_buckets_sum_and_count() -> None:
    metrics = Metrics()
    for value in (0.004, 0.03, 0.03, 7200.0):
        metrics.response_seconds.observe("promo", value=value)
    text = metrics.registry.render()
    assert "# TYPE smppgate_response_seconds histogram" in text
    assert 'smppgate_response_seconds_bucket{account="promo",le="0.005"} 1' in text
    assert 'smppgate_response_seconds_bucket{account="promo",le="0.025"} 1' in text
    assert 'smppgate_response_seconds_bucket{account="promo",le="0.05"} 3' in text
    assert 'smppgate_response_seconds_bucket{account="promo",le="3600"} 3' in text
    assert 'smppgate_response_seconds_bucket{account="promo",le="+Inf"} 4' in text
    assert 'smppgate_response_seconds_count{account="promo"} 4' in text
    assert 'smppgate_response_seconds_sum{account="promo"} 7200.064' in text
    assert metrics.response_seconds.count("promo") == 4
    assert metrics.snapshot()["smppgate_response_seconds"] == [
        {"account": "promo", "count": 4, "sum": 7200.064}
    ]


async def test_build_info_and_process_metrics() -> None:
    from smppgate import __version__

    text = await Metrics().render()
    assert f'smppgate_build_info{{version="{__version__}",python="' in text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith("process_")
    }
    assert values["process_cpu_seconds_total"] > 0
    assert values["process_resident_memory_bytes"] > 1_000_000
    assert values["process_open_fds"] >= 3
    assert values["process_max_fds"] >= values["process_open_fds"]
    assert 1_600_000_000 < values["process_start_time_seconds"] <= time.time()
