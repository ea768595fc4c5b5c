"""Metrics: a tiny registry of counters, gauges and histograms, rendered as Prometheus text
format 0.0.4.

Increments are one dict lookup and one addition (the dispatcher calls them on the hot path);
gauges read from the store (queue depth, webhook backlog, unmatched receipts) are refreshed at
most once per ``cache_seconds`` when /metrics or the ops page asks, never on the hot path.

Why not ``prometheus-client``: this registry is about 200 lines the hot path can afford (no
lock, no label-child objects), the ops page reads the same objects as plain data
(`snapshot`), and `smppgate[gateway]` keeps one dependency fewer. The standard ``process_*``
metrics are read from ``/proc/self`` at render time, as that library's process collector does
(Linux only; elsewhere they are left out), and ``smppgate_build_info`` carries the version.
"""

from __future__ import annotations

import math
import os
import platform
import resource
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from smppgate import __version__
from smppgate.store import MessageState, Store

__all__ = ["CONTENT_TYPE", "Counter", "Gauge", "Metrics", "Registry", "escape_label_value"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LabelValues = tuple[str, ...]


def escape_label_value(value: str) -> str:
    """Backslash, double quote and line feed escaped, as the text format requires."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labels = labels
        self.values: dict[LabelValues, float] = {}
        if not labels:
            self.values[()] = 0.0

    def get(self, *labels: str) -> float:
        return self.values.get(labels, 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {_escape_help(self.help)}"
        yield f"# TYPE {self.name} {self.kind}"
        for key in sorted(self.values):
            if key:
                pairs = ",".join(
                    f'{label}="{escape_label_value(value)}"'
                    for label, value in zip(self.labels, key, strict=True)
                )
                yield f"{self.name}{{{pairs}}} {_number(self.values[key])}"
            else:
                yield f"{self.name} {_number(self.values[key])}"

    def snapshot(self) -> Any:
        if not self.labels:
            return self.values.get((), 0.0)
        return [
            {**dict(zip(self.labels, key, strict=True)), "value": value}
            for key, value in sorted(self.values.items())
        ]


class Counter(_Metric):
    """Only goes up; ``name`` ends in ``_total`` by convention."""

    kind = "counter"

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        values = self.values
        values[labels] = values.get(labels, 0.0) + amount


class Gauge(_Metric):
    kind = "gauge"

    def set(self, *labels: str, value: float) -> None:
        self.values[labels] = value

    def replace(self, values: dict[LabelValues, float]) -> None:
        """Every series at once (series absent from ``values`` disappear)."""
        self.values = dict(values)


#: latency buckets (seconds): a submit_sm_resp in milliseconds, a receipt in minutes
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
                   300.0, 1800.0, 3600.0)  # fmt: skip


class Histogram(_Metric):
    """Observations counted into fixed buckets, rendered cumulatively (``_bucket{le=...}``,
    ``_sum``, ``_count``). Observing is a short loop over the bucket bounds."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: tuple[str, ...] = (),
        buckets: tuple[float, ...] = LATENCY_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labels)
        self.values.clear()
        self.buckets = buckets
        #: per label values: [count per bucket (last: above every bound)], sum
        self.series: dict[LabelValues, tuple[list[int], list[float]]] = {}

    def observe(self, *labels: str, value: float) -> None:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = ([0] * (len(self.buckets) + 1), [0.0])
        counts, total = series
        index = 0
        for bound in self.buckets:
            if value <= bound:
                break
            index += 1
        counts[index] += 1
        total[0] += value

    def count(self, *labels: str) -> int:
        series = self.series.get(labels)
        return 0 if series is None else sum(series[0])

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {_escape_help(self.help)}"
        yield f"# TYPE {self.name} {self.kind}"
        for key in sorted(self.series):
            counts, total = self.series[key]
            pairs = [
                f'{label}="{escape_label_value(value)}"'
                for label, value in zip(self.labels, key, strict=True)
            ]
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                le = ",".join([*pairs, f'le="{_number(bound)}"'])
                yield f"{self.name}_bucket{{{le}}} {running}"
            labels = "{" + ",".join(pairs) + "}" if pairs else ""
            yield f"{self.name}_sum{labels} {_number(total[0])}"
            yield f"{self.name}_count{labels} {running}"

    def snapshot(self) -> Any:
        return [
            {**dict(zip(self.labels, key, strict=True)), "count": sum(c), "sum": t[0]}
            for key, (c, t) in sorted(self.series.items())
        ]


_M = TypeVar("_M", bound=_Metric)


class Registry:
    """Metrics in registration order; `render` gives the exposition text."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}

    def counter(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> Counter:
        return self._add(Counter(name, help_text, labels))

    def gauge(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> Gauge:
        return self._add(Gauge(name, help_text, labels))

    def histogram(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> Histogram:
        return self._add(Histogram(name, help_text, labels))

    def _add(self, metric: _M) -> _M:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} registered twice")
        self._metrics[metric.name] = metric
        return metric

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics.values():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"

    def snapshot(self) -> dict[str, Any]:
        return {name: metric.snapshot() for name, metric in self._metrics.items()}


class Metrics:
    """The gateway's metrics. The dispatcher, session pool, receipt handler and webhook sender
    call the recording methods; /metrics calls `render`, the ops page `snapshot`."""

    def __init__(
        self,
        store: Store | None = None,
        *,
        cache_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._refreshed_at: float | None = None
        self._submit_samples: deque[tuple[float, float]] = deque(maxlen=16)
        self._bound: dict[tuple[str, str], set[str]] = {}
        r = self.registry = Registry()
        self.accepted_total = r.counter(
            "smppgate_messages_accepted_total", "Messages accepted (committed).", ("account",)
        )
        self.client_accepted_total = r.counter(
            "smppgate_client_messages_accepted_total",
            "Messages accepted (committed), per API client (the configured names: bounded).",
            ("client",),
        )
        self.blocked_total = r.counter(
            "smppgate_messages_blocked_total",
            "Messages ended `blocked` (destination on the account's blocklist), per account and"
            " where it was found (intake: when queued; dispatch: listed after it was queued).",
            ("account", "at"),
        )
        self.mo_sets_evicted_total = r.counter(
            "smppgate_mo_sets_evicted_total",
            "Multi-part MO sets handed over incomplete because the account's sets in progress "
            "reached max_mo_sets, per account.",
            ("account",),
        )
        self.opt_keywords_total = r.counter(
            "smppgate_opt_keywords_total",
            "MO opt-out / opt-in keywords received, per account and action (opt_out, opt_in).",
            ("account", "action"),
        )
        self.client_limited_total = r.counter(
            "smppgate_client_limited_total",
            "Requests refused with 429, per API client and limit (rate, daily_quota).",
            ("client", "limit"),
        )
        self.submits_total = r.counter(
            "smppgate_submits_total", "submit_sm PDUs written, per account.", ("account",)
        )
        self.responses_total = r.counter(
            "smppgate_responses_total",
            "submit_sm_resp by account and command_status (NO_RESPONSE, NOT_SENT: none came).",
            ("account", "status"),
        )
        self.receipts_total = r.counter(
            "smppgate_receipts_total", "Delivery receipts received, by state.", ("state",)
        )
        self.inbound_total = r.counter(
            "smppgate_inbound_total", "MO messages received, by kind (sms, ussd).", ("kind",)
        )
        self.reconnects_total = r.counter(
            "smppgate_reconnects_total", "Session reconnects, per account and host.",
            ("account", "host"),
        )  # fmt: skip
        self.webhooks_total = r.counter(
            "smppgate_webhooks_total", "Webhook deliveries by outcome (delivered, retry, gave_up).",
            ("outcome",),
        )  # fmt: skip
        self.queue_depth = r.gauge(
            "smppgate_queue_messages", "Messages in the store by state.", ("state",)
        )
        self.bound_sessions = r.gauge(
            "smppgate_bound_sessions", "Bound SMPP sessions per account and host.",
            ("account", "host"),
        )  # fmt: skip
        self.window_in_use = r.gauge(
            "smppgate_window_in_use", "submit_sm awaiting a response, per account and session.",
            ("account", "session"),
        )  # fmt: skip
        self.webhook_backlog = r.gauge(
            "smppgate_webhook_backlog", "Webhook jobs pending delivery (store outbox)."
        )
        self.no_response_total = r.counter(
            "smppgate_no_response_total",
            "Submits that got no response: 'unknown' when the SMSC's TCP acknowledged them (it"
            " may have them), 'requeued_link_loss' when it never did (sent again).",
            ("account", "outcome"),
        )
        self.unmatched_receipts = r.gauge(
            "smppgate_unmatched_receipts", "Receipts kept without a matching message."
        )
        self.store_up = r.gauge("smppgate_store_up", "1 when the last store read succeeded.")
        self.store_statements_total = r.counter(
            "smppgate_store_statements_total",
            "SQL statements this process sent to the store's database (a batch row by row: one"
            " per row; BEGIN and COMMIT not counted).",
        )
        self.build_info = r.gauge(
            "smppgate_build_info", "Always 1; the labels say what runs.", ("version", "python")
        )
        self.build_info.set(__version__, platform.python_version(), value=1)
        self.process = _ProcessMetrics(r)
        self.queued_seconds = r.histogram(
            "smppgate_queued_seconds",
            "API accept to the first submit_sm of a message (waiting in the queue), per account.",
            ("account",),
        )
        self.response_seconds = r.histogram(
            "smppgate_response_seconds",
            "submit_sm to its submit_sm_resp (all parts of a message), per account.",
            ("account",),
        )
        self.receipt_seconds = r.histogram(
            "smppgate_receipt_seconds",
            "submit_sm_resp to the delivery receipt of a part, per account.",
            ("account",),
        )
        self.webhook_seconds = r.histogram(
            "smppgate_webhook_seconds",
            "One webhook POST, from sending to its answer (or failure), by outcome.",
            ("outcome",),
        )
        self.reloads_total = r.counter(
            "smppgate_config_reloads_total",
            "Configuration reloads (SIGHUP) by outcome: applied, or refused (a bad file).",
            ("outcome",),
        )
        self.last_reload_ok = r.gauge(
            "smppgate_config_last_reload_successful",
            "1 when the last reload was applied (or none was asked), 0 when it was refused.",
        )
        self.last_reload_ok.set(value=1)
        self.retention_total = r.counter(
            "smppgate_retention_rows_total",
            "Rows retention deleted (redact_texts: messages whose text it redacted), by kind.",
            ("kind",),
        )

        # the SMPP front door: one series per configured user (bounded labels)
        self.front_door_sessions = r.gauge(
            "smppgate_front_door_sessions",
            "Applications' SMPP sessions bound to the front door, per user.",
            ("user",),
        )
        self.front_door_window = r.gauge(
            "smppgate_front_door_window_in_use",
            "deliver_sm sent to an application and not answered yet, per user.",
            ("user",),
        )
        self.front_door_submits_total = r.counter(
            "smppgate_front_door_submits_total",
            "submit_sm/data_sm accepted (committed) from applications, per user.",
            ("user",),
        )
        self.front_door_receipts_total = r.counter(
            "smppgate_front_door_receipts_total",
            "Receipts written to applications as deliver_sm (resends included), per user.",
            ("user",),
        )
        self.front_door_receipt_backlog = r.gauge(
            "smppgate_front_door_receipt_backlog",
            "Receipts waiting in the store's outbox for an application, per user (every node's).",
            ("user",),
        )
        self.front_door_mo_backlog = r.gauge(
            "smppgate_front_door_mo_backlog",
            "Routed MO and USSD waiting in the store's outbox for an application, per user "
            "(every node's).",
            ("user",),
        )
        self.front_door_mo_total = r.counter(
            "smppgate_front_door_mo_total",
            "MO and USSD written to applications as deliver_sm (resends included), per user.",
            ("user",),
        )
        self.front_door_sets_given_up_total = r.counter(
            "smppgate_front_door_sets_given_up_total",
            "Messages an application split itself, given up incomplete (parts_timeout), per user.",
            ("user",),
        )
        self._front_door: Callable[[], Mapping[str, Any]] | None = None

    # ------------------------------------------------------------------ recording (hot path)

    def accepted(self, account: str, count: int = 1) -> None:
        self.accepted_total.inc(account, amount=count)

    def client_accepted(self, client: str, count: int = 1) -> None:
        self.client_accepted_total.inc(client, amount=count)

    def blocked(self, account: str, at: str, count: int = 1) -> None:
        self.blocked_total.inc(account, at, amount=count)

    def mo_set_evicted(self, account: str) -> None:
        self.mo_sets_evicted_total.inc(account)

    def opt_keyword(self, account: str, action: str) -> None:
        self.opt_keywords_total.inc(account, action)

    def client_limited(self, client: str, limit: str) -> None:
        self.client_limited_total.inc(client, limit)

    def submitted(self, account: str, count: int = 1) -> None:
        self.submits_total.inc(account, amount=count)

    def response(self, account: str, status_name: str, count: int = 1) -> None:
        self.responses_total.inc(account, status_name, amount=count)

    def receipt(self, state: str, count: int = 1) -> None:
        self.receipts_total.inc(str(state), amount=count)

    def inbound(self, kind: str) -> None:
        self.inbound_total.inc(kind)

    def no_response(self, account: str, *, received: bool) -> None:
        self.no_response_total.inc(account, "unknown" if received else "requeued_link_loss")

    def reconnect(self, account: str, host: str) -> None:
        self.reconnects_total.inc(account, host)

    def webhook(self, outcome: str) -> None:
        self.webhooks_total.inc(outcome)

    def config_reload(self, outcome: str) -> None:
        self.reloads_total.inc(outcome)
        self.last_reload_ok.set(value=1 if outcome == "applied" else 0)

    def retention(self, kind: str, count: int) -> None:
        self.retention_total.inc(kind, amount=count)

    def session_state(self, account: str, host: str, session: str, bound: bool) -> None:
        """Session ``session`` (any stable id) to ``host`` is bound or not; idempotent."""
        sessions = self._bound.setdefault((account, host), set())
        if bound:
            sessions.add(session)
        else:
            sessions.discard(session)
        self.bound_sessions.set(account, host, value=len(sessions))

    def window(self, account: str, session: str, in_use: int) -> None:
        self.window_in_use.set(account, session, value=in_use)

    # ------------------------------------------------------------------ reading

    def bound_per_account(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for (account, _host), sessions in self._bound.items():
            counts[account] = counts.get(account, 0) + len(sessions)
        return counts

    def attach_front_door(self, snapshot: Callable[[], Mapping[str, Any]]) -> None:
        """Read the front door's users from ``snapshot`` (`FrontDoor.snapshot`) at each refresh."""
        self._front_door = snapshot
        self._refreshed_at = None

    def _read_front_door(self) -> None:
        if self._front_door is None:
            return
        users = self._front_door()
        sessions: dict[LabelValues, float] = {}
        window: dict[LabelValues, float] = {}
        for user, figures in users.items():
            bound = figures["sessions"]
            sessions[(user,)] = float(len(bound))
            window[(user,)] = float(sum(s["window_used"] for s in bound))
            # the front door counts since it started, as a counter does
            self.front_door_submits_total.values[(user,)] = float(figures["submits"])
            self.front_door_receipts_total.values[(user,)] = float(figures["receipts_sent"])
            self.front_door_mo_total.values[(user,)] = float(figures["mo_sent"])
            self.front_door_sets_given_up_total.values[(user,)] = float(figures["sets_given_up"])
        self.front_door_sessions.replace(sessions)
        self.front_door_window.replace(window)

    def attach_store(self, store: Store) -> None:
        """Read queue depth, webhook backlog and unmatched receipts from ``store`` from now on
        (the gateway opens its store after the metrics it records into exist)."""
        self._store = store
        self._refreshed_at = None

    async def refresh(self, *, force: bool = False) -> None:
        """Read the store-backed gauges, at most once per ``cache_seconds``."""
        now = self._clock()
        if (
            not force
            and self._refreshed_at is not None
            and now - self._refreshed_at < self._cache_seconds
        ):
            return
        self._refreshed_at = now
        self._submit_samples.append((now, sum(self.submits_total.values.values())))
        self._read_front_door()
        if self._store is None:
            return
        # the store counts since it opened, as a counter does
        self.store_statements_total.values[()] = float(self._store.statements)
        try:
            counts = await self._store.count_by_state()
            backlog = await self._store.webhook_backlog()
            unmatched = await self._store.count_unmatched_receipts()
            if self._front_door is not None:
                outbox = await self._store.smpp_outbox_backlog()
                mo_outbox = await self._store.smpp_mo_backlog()
                users = self._front_door()
                self.front_door_receipt_backlog.replace(
                    {(user,): float(outbox.get(user, 0)) for user in users}
                )
                self.front_door_mo_backlog.replace(
                    {(user,): float(mo_outbox.get(user, 0)) for user in users}
                )
        except Exception:  # noqa: BLE001  (a store outage shows as store_up 0, not a 500)
            self.store_up.set(value=0)
            return
        self.queue_depth.replace(
            {(state.value,): float(counts.get(state, 0)) for state in MessageState}
        )
        self.webhook_backlog.set(value=backlog)
        self.unmatched_receipts.set(value=unmatched)
        self.store_up.set(value=1)

    def submits_per_second(self) -> float:
        """Submits per second over the samples taken by the last refreshes (up to 16)."""
        if len(self._submit_samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._submit_samples[0], self._submit_samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    async def render(self) -> str:
        """The Prometheus exposition text (content type `CONTENT_TYPE`)."""
        await self.refresh()
        self.process.sample()
        return self.registry.render()

    def snapshot(self) -> dict[str, Any]:
        """Every metric as plain data, plus the derived submits per second (for the ops page;
        call `refresh` first for fresh store figures)."""
        data = self.registry.snapshot()
        data["submits_per_second"] = self.submits_per_second()
        data["bound_sessions_per_account"] = self.bound_per_account()
        return data


class _ProcessMetrics:
    """The conventional ``process_*`` metrics, from ``/proc/self`` (Linux)."""

    def __init__(self, r: Registry) -> None:
        self.cpu = r.counter("process_cpu_seconds_total", "User and system CPU time, seconds.")
        self.rss = r.gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
        self.vsize = r.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.")
        self.start = r.gauge(
            "process_start_time_seconds", "Start time of the process since the epoch, seconds."
        )
        self.fds = r.gauge("process_open_fds", "Open file descriptors.")
        self.max_fds = r.gauge("process_max_fds", "Most open file descriptors allowed.")

    def sample(self) -> None:
        try:
            with open("/proc/self/stat", encoding="ascii") as f:
                # the fields after the command name, which may hold spaces and parentheses
                fields = f.read().rsplit(")", 1)[1].split()
            with open("/proc/stat", encoding="ascii") as f:
                boot = next(float(line.split()[1]) for line in f if line.startswith("btime "))
            fds = len(os.listdir("/proc/self/fd"))
        except (OSError, StopIteration, IndexError, ValueError):
            return  # not Linux: the process metrics stay at 0
        ticks = os.sysconf("SC_CLK_TCK")
        # proc(5): utime, stime are fields 14, 15; starttime 22; vsize 23; rss 24 (pages)
        self.cpu.values[()] = (int(fields[11]) + int(fields[12])) / ticks
        self.start.set(value=boot + int(fields[19]) / ticks)
        self.vsize.set(value=float(fields[20]))
        self.rss.set(value=float(int(fields[21]) * os.sysconf("SC_PAGE_SIZE")))
        self.fds.set(value=fds)
        self.max_fds.set(value=resource.getrlimit(resource.RLIMIT_NOFILE)[0])
