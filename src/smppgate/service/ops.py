"""The ops page's data: what the gateway is doing now, read from the sources /metrics and the
API read — the session pools' snapshots, the dispatch stats, the metrics registry and the
store. Nothing here counts traffic a second time.

The one thing kept here is derived: the metrics counters sampled once a second into a bounded
ring, so that the page can draw submits/s and receipts/s over the last minutes, and a bounded
log handler holding the last warnings and errors of the ``smppgate`` loggers.

`OpsView` is an async context manager that owns its sampling task (principle 9); the pure
pieces (rates, session and retry rows, medians) are functions tested without a loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import statistics
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from smppgate.client.pool import PoolSnapshot, SlotSnapshot, SlotState
from smppgate.numbers import DialPlan, NumberError, normalize
from smppgate.pdu import CommandStatus
from smppgate.profiles import HostAddress, ProviderProfile
from smppgate.service.clients import quota_day
from smppgate.service.dispatch import attempts_of
from smppgate.service.metrics import Metrics
from smppgate.service.runtime import AccountRunner, Gateway
from smppgate.store import MessageDetail, MessageState, NotFound, StoredMessage

__all__ = [
    "ErrorLog",
    "OpsView",
    "RateSampler",
    "SearchError",
    "SearchResult",
    "match_rates",
    "median_receipt_latency",
    "parse_query",
    "retry_row",
    "session_row",
]

_MESSAGE_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
#: what people put between a number's digits (``8 (900) 123-45-67``, ``+7.900.123.45.67``)
_NUMBER_SEPARATORS = str.maketrans("", "", " -().\t")
#: receipts enough for the last minute's median to stand for the current latency
LATENCY_MIN_SAMPLE = 50


# ----------------------------------------------------------------------------- last errors


class ErrorLog(logging.Handler):
    """The last ``capacity`` WARNING+ records of the loggers it is attached to."""

    def __init__(self, capacity: int = 50, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.records: deque[dict[str, Any]] = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  (a bad format string must not break logging)
            message = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message = f"{message}: {type(exc).__name__}: {exc}"
        self.records.append(
            {
                "at": record.created,
                "level": record.levelname,
                "logger": record.name,
                "message": message[:500],
            }
        )

    def entries(self) -> list[dict[str, Any]]:
        """Newest first."""
        return list(reversed(self.records))


# ----------------------------------------------------------------------------- rates


class RateSampler:
    """(time, submits, receipts) samples of the metrics counters, at most ``capacity``."""

    def __init__(self, capacity: int = 301) -> None:
        self.samples: deque[tuple[float, float, float]] = deque(maxlen=capacity)

    def add(self, at: float, submits: float, receipts: float) -> None:
        self.samples.append((at, submits, receipts))

    def series(self) -> dict[str, list[float]]:
        """Per-interval rates between consecutive samples: ``t`` (the interval's end),
        ``submits`` and ``receipts`` per second. A counter that went down (a new metrics
        object) counts as zero, never negative."""
        t: list[float] = []
        submits: list[float] = []
        receipts: list[float] = []
        previous: tuple[float, float, float] | None = None
        for sample in self.samples:
            if previous is not None and sample[0] > previous[0]:
                span = sample[0] - previous[0]
                t.append(round(sample[0], 3))
                submits.append(round(max(0.0, sample[1] - previous[1]) / span, 2))
                receipts.append(round(max(0.0, sample[2] - previous[2]) / span, 2))
            previous = sample
        return {"t": t, "submits": submits, "receipts": receipts}

    def recent_rates(self, seconds: float = 5.0) -> tuple[float, float]:
        """(submits/s, receipts/s) averaged over the last ``seconds``."""
        if len(self.samples) < 2:
            return 0.0, 0.0
        last = self.samples[-1]
        first = last
        for sample in reversed(self.samples):
            first = sample
            if last[0] - sample[0] >= seconds:
                break
        span = last[0] - first[0]
        if span <= 0:
            return 0.0, 0.0
        return (
            round(max(0.0, last[1] - first[1]) / span, 2),
            round(max(0.0, last[2] - first[2]) / span, 2),
        )


# ----------------------------------------------------------------------------- sessions


def host_role(host: str | None, hosts: Sequence[HostAddress]) -> str | None:
    """``primary`` for the first configured host, ``backup`` for the others."""
    if host is None:
        return None
    names = [str(h) for h in hosts]
    if host not in names:
        return None
    return "primary" if names.index(host) == 0 else "backup"


def session_row(
    slot: SlotSnapshot,
    hosts: Sequence[HostAddress],
    *,
    drop_cooldown: float,
    failure_cooldown: float,
    last_host: str | None = None,
) -> dict[str, Any]:
    """One session slot as the page shows it.

    A waiting slot with time left is ``cooling_down``: after a failed attempt (the slot keeps
    its error until the next bind) the wait is ``failure_cooldown`` (90 s), after a drop
    ``drop_cooldown`` (60 s). A waiting slot has no host; ``last_host`` (the host it was last
    seen on) stands in for it.
    """
    state = slot.state.value
    cooldown_total: float | None = None
    cooldown_reason: str | None = None
    if slot.state is SlotState.WAITING and slot.cooldown_left > 0:
        state = "cooling_down"
        if slot.last_error is not None:
            cooldown_reason, cooldown_total = "failed attempt", failure_cooldown
        else:
            cooldown_reason, cooldown_total = "drop", drop_cooldown
        # jitter only lengthens a wait (and a peer node's cooldown may be longer): the total
        # is never less than what is left, so "left of total" never reads 63 s of 60 s
        cooldown_total = round(max(cooldown_total, slot.cooldown_left), 1)
    host = slot.host if slot.host is not None else last_host
    last_pdu_ago = slot.last_received_ago
    return {
        "slot": slot.slot,
        "mode": slot.mode.value,
        "state": state,
        "host": host,
        "host_current": slot.host is not None,
        "role": host_role(host, hosts),
        "window_used": slot.window_used,
        "window_size": slot.window_size,
        "queued": slot.queued,
        "paused_for": round(slot.paused_for, 1),
        "cooldown_left": round(slot.cooldown_left, 1) if state == "cooling_down" else 0.0,
        "cooldown_total": cooldown_total,
        "cooldown_reason": cooldown_reason,
        "last_pdu_ago": None if last_pdu_ago is None else round(float(last_pdu_ago), 1),
        "reconnects": slot.reconnects,
        "failures": slot.failures,
        "last_error": slot.last_error,
        "last_close_reason": None
        if slot.last_close_reason is None
        else slot.last_close_reason.value,
    }


# ----------------------------------------------------------------------------- retries


def retry_row(message: StoredMessage, profile: ProviderProfile, now: float) -> dict[str, Any]:
    """A queued message that already met the SMSC: when it goes again, and why it waits."""
    rules = profile.retry
    status = message.last_status_name
    # by value, not by name: the name is display text the store keeps beside it
    if message.last_status == CommandStatus.ESME_RTHROTTLED:
        reason = "throttled"
        detail = f"throttled ({message.throttled_retries}x)"
    elif message.last_status == CommandStatus.ESME_RMSGQFUL:
        reason = "queue_full"
        k = message.qfull_retries
        delay = rules.queue_full_delay(k) if k >= 1 else None
        pause = f", {delay:g} s" if delay is not None else ""
        detail = f"queue full {k} of {rules.queue_full_max_retries}{pause}"
    elif message.attempts == 0:
        reason = "scheduled"
        detail = "scheduled (not before)"
    else:
        reason = "transient"
        transient = attempts_of(message).transient  # counted as the dispatcher counts them
        what = status or "no response"
        detail = f"transient {transient} of {rules.transient_max_retries} ({what})"
    return {
        "id": message.id,
        "account": message.account,
        "destination": message.destination,
        "next_attempt_at": message.next_attempt_at,
        "in": round(max(0.0, message.next_attempt_at - now), 1),
        "reason": reason,
        "detail": detail,
        "attempts": message.attempts,
        "last_status": status,
    }


def waits_for_retry(message: StoredMessage, now: float) -> bool:
    return message.state is MessageState.QUEUED and (
        message.attempts > 0 or message.next_attempt_at > now + 1.0
    )


# ----------------------------------------------------------------------------- receipts


def receipt_latencies(messages: Iterable[StoredMessage]) -> list[float]:
    """Seconds from submit_sm_resp to the receipt, for every part that has both."""
    return [
        max(0.0, part.receipt_at - part.submitted_at)
        for message in messages
        for part in message.parts
        if part.submitted_at is not None and part.receipt_at is not None
    ]


def median_receipt_latency(messages: Iterable[StoredMessage]) -> tuple[float | None, int]:
    """(median seconds or None, how many parts it was taken over)."""
    latencies = receipt_latencies(messages)
    if not latencies:
        return None, 0
    return round(statistics.median(latencies), 3), len(latencies)


def match_rates(
    received: int, unmatched_on_arrival: int, still_unmatched: int
) -> tuple[float | None, float | None]:
    """(match rate, match rate on arrival), None before the first receipt.

    A receipt that comes before its submit_sm_resp was stored finds no message on arrival; the
    store keeps it and applies it when the SMSC id is recorded. So the match rate that says
    whether receipts find their messages is the one net of those still kept unmatched (the
    store's count, which may include receipts from before this process: never below zero);
    the rate on arrival says how often a receipt outran its response.
    """
    if received <= 0:
        return None, None
    matched = max(0, received - still_unmatched)
    return round(matched / received, 4), round((received - unmatched_on_arrival) / received, 4)


# ----------------------------------------------------------------------------- search


class SearchError(ValueError):
    """The query is neither a message id nor a phone number (or names no account)."""

    def __init__(self, message: str, field: str = "q") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    kind: str  # "id" or "destination"
    messages: tuple[MessageDetail, ...]
    scanned: int = 0


#: the slices a number is looked up over, newest first (seconds back from now)
SEARCH_WINDOWS = (60.0, 600.0, 3600.0, 86400.0, 7 * 86400.0)


def _per_second(samples: Sequence[tuple[float, int]] | None) -> float:
    """The rate between the first and last of ``samples`` (time, counter)."""
    if not samples or len(samples) < 2:
        return 0.0
    (t0, n0), (t1, n1) = samples[0], samples[-1]
    return round((n1 - n0) / (t1 - t0), 1) if t1 > t0 else 0.0


def _digits(number: str) -> str:
    return number[1:] if number.startswith("+") else number


def parse_query(q: str) -> tuple[str, str]:
    """``("id", MESSAGE_ID)`` or ``("destination", DIGITS)`` for a search box entry: an id in
    any case, or a number with an optional ``+`` and the separators people type (spaces,
    dashes, brackets, dots), its digits as typed (`search_numbers` reads them by the dial
    plans). Anything else raises `SearchError`."""
    query = q.strip()
    if _MESSAGE_ID.match(query.upper()):
        return "id", query.upper()
    number = query.translate(_NUMBER_SEPARATORS)
    if _NUMBER.match(number):
        return "destination", _digits(number)
    raise SearchError("search for a message id (26 characters) or a destination number (digits)")


def search_numbers(q: str, plans: Iterable[DialPlan]) -> frozenset[str]:
    """The stored destinations a number typed in the search box may be: read by each dial
    plan (``8 900 123-45-67`` -> ``79001234567``, as intake stores it), and its digits as
    typed (a destination stored as it came, or a number no plan reads)."""
    kind, digits = parse_query(q)
    if kind != "destination":
        raise SearchError("not a number")
    found = {digits}
    for plan in plans:
        with contextlib.suppress(NumberError):
            found.add(normalize(q.strip(), plan))
    return frozenset(found)


# ----------------------------------------------------------------------------- the view


class OpsView:
    """The page's data from the gateway and the metrics it records into.

    ``history`` seconds of rates are kept; store-backed figures are read at most once per
    ``min_interval`` (every open page shares them).
    """

    def __init__(
        self,
        gateway: Gateway,
        metrics: Metrics,
        *,
        history: int = 300,
        interval: float = 1.0,
        min_interval: float = 1.0,
        retry_scan: int = 500,
        retry_rows: int = 50,
        latency_window: float = 300.0,
        latency_scan: int = 500,
        latency_every: float = 5.0,
        search_scan: int = 5000,
        search_results: int = 10,
        errors: ErrorLog | None = None,
        clock: Callable[[], float] | None = None,
        front_door: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self.gateway = gateway
        #: the SMPP front door's users (`FrontDoor.snapshot`), when it runs
        self.front_door = front_door
        #: per front-door user, its submit counter sampled once a second (for submits/s)
        self._door_submits: dict[str, deque[tuple[float, int]]] = {}
        self.metrics = metrics
        self.interval = interval
        self.min_interval = min_interval
        self.retry_scan = retry_scan
        self.retry_rows = retry_rows
        self.latency_window = latency_window
        self.latency_scan = latency_scan
        self.latency_every = latency_every
        self._latency_cached: tuple[float | None, int] | None = None
        self._latency_at = 0.0
        self.search_scan = search_scan
        self.search_results = search_results
        self.errors = errors or ErrorLog()
        self.rates = RateSampler(capacity=history + 1)
        self._clock = clock or gateway.clock
        self._last_host: dict[tuple[str, int], str] = {}
        self._cached: dict[str, Any] | None = None
        self._cached_at = 0.0
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._logger = logging.getLogger("smppgate")

    # -- lifetime

    async def __aenter__(self) -> OpsView:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def start(self) -> None:
        """Attach the error log and start sampling once per ``interval``."""
        if self.errors not in self._logger.handlers:
            self._logger.addHandler(self.errors)
        if self._task is None:
            self.sample()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="ops-sampler")

    async def aclose(self) -> None:
        """Stop sampling and detach the error log; idempotent."""
        self._logger.removeHandler(self.errors)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.sample()

    def sample(self) -> None:
        """One sample of the counters and the hosts the slots are on (synchronous)."""
        m = self.metrics
        self.rates.add(
            self._clock(),
            sum(m.submits_total.values.values()),
            sum(m.receipts_total.values.values()),
        )
        for name, runner in self.gateway.runners.items():
            self._remember_hosts(name, runner.pool.snapshot())
        if self.front_door is not None:
            now = self._clock()
            for user, figures in self.front_door().items():
                samples = self._door_submits.setdefault(user, deque(maxlen=6))
                samples.append((now, int(figures["submits"])))

    def _remember_hosts(self, name: str, pool: PoolSnapshot) -> None:
        # a waiting slot's snapshot has no host: keep the one it was last seen on
        for slot in pool.slots:
            if slot.host is not None:
                self._last_host[(name, slot.slot)] = slot.host

    # -- the snapshot

    async def snapshot(self) -> dict[str, Any]:
        """Everything the page shows, as JSON-ready data (cached ``min_interval`` s)."""
        async with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached_at < self.min_interval:
                return self._cached
            self._cached = await self._build(now)
            self._cached_at = now
            return self._cached

    async def _build(self, now: float) -> dict[str, Any]:
        m = self.metrics
        await m.refresh()
        store_up = m.store_up.get() == 1.0
        accounts = [self._account(name, runner) for name, runner in self.gateway.runners.items()]
        retries = await self._retries(now)
        latency, latency_n = await self._latency(now)
        received = sum(r.stats.receipts for r in self.gateway.runners.values())
        unmatched = sum(r.stats.receipts_unmatched for r in self.gateway.runners.values())
        submits_now, receipts_now = self.rates.recent_rates()
        webhooks = {row["outcome"]: row["value"] for row in m.webhooks_total.snapshot()}
        per_status: dict[str, int] = {}
        for row in m.responses_total.snapshot():  # per account and status: summed per status
            per_status[row["status"]] = per_status.get(row["status"], 0) + int(row["value"])
        responses = [
            {"status": status, "count": n}
            for status, n in sorted(per_status.items(), key=lambda sn: (-sn[1], sn[0]))
        ]
        by_state = {row["state"]: int(row["value"]) for row in m.receipts_total.snapshot()}
        waiting = int(m.unmatched_receipts.get())
        rates = match_rates(received, unmatched, waiting)
        return {
            "node_id": self.gateway.node_id,
            "now": now,
            "store_up": store_up,
            "accounts": accounts,
            "clients": await self._clients(now),
            "front_door": await self._front_door(),
            "queue": {state.value: int(m.queue_depth.get(state.value)) for state in MessageState},
            "retries": retries,
            "rates": {
                "interval": self.interval,
                "submits_per_second": submits_now,
                "receipts_per_second": receipts_now,
                **self.rates.series(),
            },
            "totals": {
                "accepted": int(sum(m.accepted_total.values.values())),
                "submits": int(sum(m.submits_total.values.values())),
                "receipts": int(sum(m.receipts_total.values.values())),
                "inbound": int(sum(m.inbound_total.values.values())),
            },
            "responses": responses,
            "receipts": {
                "received": received,
                "matched_on_arrival": received - unmatched,
                "unmatched_on_arrival": unmatched,
                "match_rate": rates[0],
                "match_rate_on_arrival": rates[1],
                "unmatched_stored": waiting,
                "median_latency": latency,
                "latency_sample": latency_n,
                "latency_window": self.latency_window,
                "by_state": by_state,
            },
            "webhooks": {
                "backlog": int(m.webhook_backlog.get()),
                "delivered": int(webhooks.get("delivered", 0)),
                "retry": int(webhooks.get("retry", 0)),
                "gave_up": int(webhooks.get("gave_up", 0)),
            },
            "errors": self.errors.entries(),
        }

    def _account(self, name: str, runner: AccountRunner) -> dict[str, Any]:
        client = runner.pool.account
        hosts = client.effective_hosts
        pool: PoolSnapshot = runner.pool.snapshot()
        self._remember_hosts(name, pool)
        sessions = [
            session_row(
                slot,
                hosts,
                drop_cooldown=client.drop_cooldown,
                failure_cooldown=client.failure_cooldown,
                last_host=self._last_host.get((name, slot.slot)),
            )
            for slot in pool.slots
        ]
        stats = runner.stats
        return {
            "name": name,
            "system_id": runner.account.system_id,
            "hosts": [
                {"address": str(h), "role": "primary" if i == 0 else "backup"}
                for i, h in enumerate(hosts)
            ],
            "bound": pool.bound,
            "backlog": pool.backlog,
            "incoming_backlog": pool.incoming_backlog,
            "inflight": runner.inflight,
            "window_used": pool.window_used,
            "window_size": sum(s.window_size for s in pool.slots),
            "sessions": sessions,
            "stats": {
                "claimed": stats.claimed,
                "submitted_parts": stats.submitted_parts,
                "receipts": stats.receipts,
                "receipts_unmatched": stats.receipts_unmatched,
                "inbound": stats.inbound,
                "outcomes": dict(stats.outcomes),
                "unknown": stats.unknown,
                "requeued_link_loss": stats.requeued_link_loss,
            },
        }

    async def _front_door(self) -> dict[str, Any] | None:
        """The SMPP front door, one row per configured user: its limits, the applications
        bound (window in use of each), submits (since start, and per second over the last
        5 s), receipts written, and receipts and routed MO waiting in the store's outboxes
        (bound or not); None when the front door is off."""
        if self.front_door is None:
            return None
        server = self.gateway.config.smpp_server
        figures = self.front_door()
        try:
            backlog = await self.gateway.store.smpp_outbox_backlog()
            mo_backlog = await self.gateway.store.smpp_mo_backlog()
        except Exception:  # noqa: BLE001  (store_up shows the outage; the page stays up)
            backlog, mo_backlog = {}, {}
        users = []
        for user in server.users:
            seen = figures.get(user.system_id, {})
            sessions = list(seen.get("sessions", ()))
            users.append(
                {
                    "system_id": user.system_id,
                    "account": user.account,
                    "max_binds": user.max_binds,
                    "throughput": user.throughput,
                    "sessions": sessions,
                    "window_used": sum(int(s["window_used"]) for s in sessions),
                    "submits": int(seen.get("submits", 0)),
                    "submits_per_second": _per_second(self._door_submits.get(user.system_id)),
                    "receipts_sent": int(seen.get("receipts_sent", 0)),
                    "receipts_in_flight": int(seen.get("receipts_in_flight", 0)),
                    "receipt_backlog": backlog.get(user.system_id, 0),
                    "mo_backlog": mo_backlog.get(user.system_id, 0),
                }
            )
        return {
            "listen": None if server.listen is None else str(server.listen),
            "window": server.window,
            "users": users,
        }

    async def _clients(self, now: float) -> list[dict[str, Any]]:
        """Each API client with its limits, its messages today (the store's quota count,
        every node's) and this node's accepted and refused counters."""
        m = self.metrics
        try:
            used = await self.gateway.store.client_usage(quota_day(now))
        except Exception:  # noqa: BLE001  (store_up shows the outage; the page stays up)
            used = {}
        return [
            {
                "name": c.name,
                "accounts": None if c.accounts is None else list(c.accounts),
                "default_class": c.default_class,
                "rate": c.rate,
                "burst": c.burst,
                "daily_quota": c.daily_quota,
                "operator": c.operator,
                "used_today": used.get(c.name, 0),
                "accepted": int(m.client_accepted_total.get(c.name)),
                "limited": {
                    limit: int(m.client_limited_total.get(c.name, limit))
                    for limit in ("rate", "daily_quota")
                },
            }
            for c in self.gateway.config.api_clients
        ]

    async def _retries(self, now: float) -> dict[str, Any]:
        """Queued messages that wait for a retry, soonest first (at most ``retry_rows``), and
        how many wait for each reason. Retried messages are older than fresh ones, so the
        first ``retry_scan`` queued messages in id order hold them; ``truncated`` says that
        there were more queued messages than that, or more rows than shown."""
        store = self.gateway.store
        try:
            page = await store.list_messages(state=MessageState.QUEUED, limit=self.retry_scan)
        except Exception:  # noqa: BLE001  (store_up shows the outage; the page stays up)
            return {"items": [], "waiting": 0, "by_reason": {}, "scanned": 0, "truncated": False}
        profiles = {name: r.account.profile for name, r in self.gateway.runners.items()}
        rows = [
            retry_row(message, profiles[message.account], now)
            for message in page.items
            if waits_for_retry(message, now) and message.account in profiles
        ]
        rows.sort(key=lambda r: r["next_attempt_at"])
        by_reason: dict[str, int] = {}
        for row in rows:
            by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + 1
        return {
            "items": rows[: self.retry_rows],
            "waiting": len(rows),
            "by_reason": by_reason,
            "scanned": len(page.items),
            "truncated": page.next_cursor is not None or len(rows) > self.retry_rows,
        }

    async def _latency(self, now: float) -> tuple[float | None, int]:
        """Median receipt latency over the parts of recent messages: the last minute when it
        holds ``LATENCY_MIN_SAMPLE`` receipts, else the last ``latency_window`` seconds (the
        first ``latency_scan`` messages of the window either way). It loads messages with
        their parts, so it is read at most every ``latency_every`` seconds."""
        if self._latency_cached is not None and now - self._latency_at < self.latency_every:
            return self._latency_cached
        result: tuple[float | None, int] = (None, 0)
        for window in (min(60.0, self.latency_window), self.latency_window):
            try:
                page = await self.gateway.store.list_messages(
                    since=now - window, limit=self.latency_scan
                )
            except Exception:  # noqa: BLE001  (store_up shows the outage)
                return None, 0
            result = median_receipt_latency(page.items)
            if result[1] >= LATENCY_MIN_SAMPLE:
                break
        self._latency_cached, self._latency_at = result, now
        return result

    # -- search

    async def search(self, q: str, account: str | None = None) -> SearchResult:
        """A message by id, or the most recent messages to a number (with parts, attempts
        and receipts). A number is read as people type it (``8 900 123-45-67``) by the dial
        plan of ``account`` (then only its messages), or of every account when None.
        Numbers are looked up newest first, over the last minute, then the last 10 minutes,
        hour, day and week, at most ``search_scan`` messages in all: the store keeps no
        index by destination, and a recent message is what an operator asks about."""
        kind, value = parse_query(q)
        accounts = self.gateway.config.accounts
        if account is not None:
            accounts = tuple(a for a in accounts if a.name == account)
            if not accounts:
                raise SearchError(f"no account named {account[:40]!r}", field="account")
        store = self.gateway.store
        if kind == "id":
            try:
                return SearchResult(q.strip(), kind, (await store.get_message(value),))
            except NotFound:
                return SearchResult(q.strip(), kind, ())
        numbers = search_numbers(q, {a.numbers for a in accounts})
        found, scanned = await self._recent_to(numbers, account)
        recent = found[-self.search_results :][::-1]
        details = tuple([await store.get_message(m.id) for m in recent])
        return SearchResult(q.strip(), kind, details, scanned)

    async def _recent_to(
        self, numbers: frozenset[str], account: str | None
    ) -> tuple[list[StoredMessage], int]:
        """The messages to any of ``numbers`` (of ``account`` only, unless None) in the first
        search window that has some, oldest first, and how many messages were looked at."""
        now = self._clock()
        scanned = 0
        found: list[StoredMessage] = []
        upper = float("inf")  # the newer slice, already scanned
        for window in SEARCH_WINDOWS:
            lower = now - window
            after: str | None = None
            while scanned < self.search_scan:
                page = await self.gateway.store.list_messages(since=lower, after=after, limit=500)
                newer = False
                for message in page.items:
                    if message.created_at >= upper:
                        newer = True
                        break
                    scanned += 1
                    if _digits(message.destination) in numbers and (
                        account is None or message.account == account
                    ):
                        found.append(message)
                if newer or page.next_cursor is None:
                    break
                after = page.next_cursor
            if found or scanned >= self.search_scan:
                break
            upper = lower
        return found, scanned
