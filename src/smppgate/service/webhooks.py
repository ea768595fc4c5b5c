"""Webhooks: event payloads as exact JSON text, their HMAC-SHA256 signature, the outbox they
wait in (the store's ``webhooks`` table) and the worker that delivers them.

Delivery is at least once: a job is claimed with a lease (so two nodes never send it at the
same time), POSTed, then marked delivered on 2xx or retried with backoff until
``webhooks.max_attempts`` (then it is kept as ``gave_up``, visible in the store). The jobs
answered 2xx are marked together, one transaction for all that finished while the previous
mark was being written. A process killed between the POST and the mark sends that job again
after the lease: receivers dedupe on ``X-Smppgate-Delivery``, which is the job id and the same
on every attempt.

Headers of every POST::

    Content-Type: application/json
    X-Smppgate-Event: message.status | inbound.mo | inbound.ussd | inbound.opt_out
                      | inbound.opt_in
    X-Smppgate-Delivery: <job id>
    X-Smppgate-Timestamp: <epoch seconds of this attempt>
    X-Smppgate-Signature: v1=<hex HMAC-SHA256 of "<delivery>.<timestamp>.<raw body>">

The signature (left out when no secret is configured) covers the delivery id and the
timestamp as well as the body, as in the Standard Webhooks scheme: a receiver that checks the
timestamp is recent and remembers delivery ids cannot be fooled by a replay.

Where webhooks may go is `smppgate.service.egress`'s policy: checked when a URL is accepted,
again for every job before it is sent, and for every address its host resolves to (the
connection goes only to addresses that passed). Deliveries run on a bounded pool of workers
with at most ``webhooks.per_host`` to one receiver: a receiver that hangs holds that many
workers, never the others' webhooks. The POSTs go over kept connections
(`smppgate.service.webhook_http`), at most ``per_host`` of them to one receiver.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import socket
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring as _quote  # ensure_ascii=False's string form
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from smppgate.service.config import AccountConfig, GatewayConfig
from smppgate.service.egress import EgressPolicy, Target, UrlRefusedError
from smppgate.service.metrics import Metrics
from smppgate.service.webhook_http import HttpError, WebhookHttp
from smppgate.store import (
    InboundMessage,
    NewWebhook,
    OptAction,
    OptChange,
    OutcomeResult,
    ReceiptMatch,
    ReceiptRecord,
    Store,
    StoredMessage,
    StoredPart,
    StoreError,
    WebhookJob,
    WebhookState,
)

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "EVENT_INBOUND_MO",
    "EVENT_INBOUND_USSD",
    "EVENT_MESSAGE_STATUS",
    "EVENT_OPT_IN",
    "EVENT_OPT_OUT",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "CheckedResolver",
    "WebhookOutbox",
    "WebhookSender",
    "inbound_payload",
    "opt_payload",
    "sign",
    "status_payload",
    "verify",
]

log = logging.getLogger("smppgate.webhooks")

EVENT_MESSAGE_STATUS = "message.status"
EVENT_INBOUND_MO = "inbound.mo"
EVENT_INBOUND_USSD = "inbound.ussd"
EVENT_OPT_OUT = "inbound.opt_out"
EVENT_OPT_IN = "inbound.opt_in"
_OPT_EVENTS = {OptAction.OPT_OUT: EVENT_OPT_OUT, OptAction.OPT_IN: EVENT_OPT_IN}
SIGNATURE_HEADER = "X-Smppgate-Signature"
EVENT_HEADER = "X-Smppgate-Event"
DELIVERY_HEADER = "X-Smppgate-Delivery"
TIMESTAMP_HEADER = "X-Smppgate-Timestamp"
USER_AGENT = "smppgate-webhooks"


# ------------------------------------------------------------------------ payloads


def _iso(at: float | None) -> str | None:
    """RFC 3339 in UTC with milliseconds, as ``datetime.isoformat`` writes it (``Z`` for
    ``+00:00``), the date and time of each second worked out once: a batch of payloads names
    the same few seconds over and over."""
    if at is None:
        return None
    if not 0.0 <= at < _YEAR_10000:
        text = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")
    # datetime's own rounding: the fraction to microseconds, half to even, then truncated
    # to milliseconds
    fraction, whole = math.modf(at)
    second, micros = int(whole), round(fraction * 1e6)
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    return f"{_second(second)}.{micros // 1000:03d}Z"


#: 10000-01-01T00:00:00Z: datetime's limit
_YEAR_10000 = 253402300800.0


@functools.lru_cache(maxsize=512)
def _second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _text(payload: dict[str, Any]) -> str:
    """The exact JSON text that is stored, signed and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _json(value: object) -> str:
    """One JSON value exactly as `_text` writes it inside an object."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return _quote(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def status_payload(m: StoredMessage, receipts: Sequence[ReceiptRecord], at: float) -> str:
    """``message.status``: the message's state now, with each part and its receipts.

    Built as text from its fixed shape (the same characters `_text` would write for the
    dictionaries of that shape: tests/unit/test_webhooks_payloads.py compares them): one
    payload per message whose receipt or outcome is recorded, inside that transaction."""
    parts = ",".join(_part_json(p, receipts) for p in m.parts)
    return (
        f'{{"event":"{EVENT_MESSAGE_STATUS}","created_at":{_json(_iso(at))},'
        f'"message":{{"id":{_json(m.id)},"account":{_json(m.account)},'
        f'"to":{_json(m.destination)},"from":{_json(m.source)},'
        f'"status":{_json(m.state.value)},"final":{_json(m.state.is_final)},'
        f'"reference":{_json(m.client_reference)},"created_at":{_json(_iso(m.created_at))},'
        f'"updated_at":{_json(_iso(m.updated_at))},"parts":[{parts}]}}}}'
    )


def _part_json(p: StoredPart, receipts: Sequence[ReceiptRecord]) -> str:
    state = None if p.receipt_state is None else p.receipt_state.value
    its = ",".join(
        f'{{"state":{_json(r.state.value)},"received_at":{_json(_iso(r.received_at))},'
        f'"error_code":{_json(r.error_code)}}}'
        for r in receipts
        if r.seq == p.seq
    )
    return (
        f'{{"seq":{_json(p.seq)},"status":{_json(p.status.value)},'
        f'"message_id":{_json(p.smsc_message_id)},"receipt_state":{_json(state)},'
        f'"receipt_at":{_json(_iso(p.receipt_at))},"error_code":{_json(p.error_code)},'
        f'"receipts":[{its}]}}'
    )


def inbound_event(inbound: InboundMessage) -> str:
    return EVENT_INBOUND_MO if inbound.ussd_service_op is None else EVENT_INBOUND_USSD


def inbound_payload(inbound: InboundMessage, at: float) -> str:
    """``inbound.mo`` (an SMS) or ``inbound.ussd`` (ussd_service_op set)."""
    return _text(
        {
            "event": inbound_event(inbound),
            "created_at": _iso(at),
            "inbound": {
                "id": inbound.id,
                "account": inbound.account,
                "from": inbound.source,
                "to": inbound.destination,
                "text": inbound.text,
                "data_coding": inbound.data_coding,
                "ussd_service_op": inbound.ussd_service_op,
                "received_at": _iso(inbound.received_at),
                "parts_info": inbound.parts_info,
            },
        }
    )


#: how old (or how far in the future) a timestamp `verify` accepts, in seconds
TOLERANCE = 300


def opt_payload(change: OptChange, at: float) -> str:
    """``inbound.opt_out`` / ``inbound.opt_in``: an MO keyword and what it did to the
    account's blocklist (``changed``: an entry was added or removed; ``blocked``: the number
    is listed now, e.g. an operator's block that an opt-in leaves in place)."""
    return _text(
        {
            "event": _OPT_EVENTS[change.action],
            "created_at": _iso(at),
            "opt": {
                "account": change.account,
                "number": change.number,
                "keyword": change.keyword,
                "inbound_id": change.inbound_id,
                "changed": change.changed,
                "blocked": change.blocked,
                "at": _iso(change.at),
            },
        }
    )


def sign(secret: str, delivery: str, timestamp: str, body: bytes) -> str:
    """The ``X-Smppgate-Signature`` value: ``v1=`` and the hex HMAC-SHA256, keyed with the
    secret, of ``<delivery>.<timestamp>.<body>``."""
    signed = f"{delivery}.{timestamp}.".encode() + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    delivery: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance: float = TOLERANCE,
) -> bool:
    """What a receiver does: the timestamp within ``tolerance`` seconds of now, and the
    signature equal (compared in constant time) to what the secret gives. A receiver should
    also remember the delivery ids it handled (deliveries are at least once)."""
    if not (timestamp.isascii() and timestamp.isdecimal()):
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, delivery, timestamp, body), signature)


def delivery_headers(job: WebhookJob, body: bytes, secret: str, now: float) -> dict[str, str]:
    timestamp = str(int(now))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: job.event,
        DELIVERY_HEADER: str(job.id),
        TIMESTAMP_HEADER: timestamp,
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, str(job.id), timestamp, body)
    return headers


def header_lines(headers: dict[str, str]) -> bytes:
    """`delivery_headers` as the lines of a request head (values are ASCII: an event name,
    digits, hex)."""
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode("ascii")


def request_path(url: str) -> str:
    """The request target of a (checked) URL: its path and query, ``/`` for none."""
    parts = urlsplit(url)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


# ------------------------------------------------------------------------ outbox


class WebhookOutbox:
    """Decides the webhooks of events; the sender delivers them.

    As the store's ``notifier`` (what `smppgate serve` does) it is asked inside the very
    transaction that records a receipt, a final outcome, a lease recovery or an inbound
    message, so the event and its webhook commit together: a crash between the two cannot
    lose one. `message_status` and `inbound` (and the ``on_*`` listeners) queue a webhook in a
    transaction of its own, for callers that record events without a notifier. The URL is the
    message's ``callback_url``, else its account's ``default_callback_url``; with neither
    nothing is queued.
    """

    def __init__(
        self,
        config: GatewayConfig,
        store: Store,
        clock: Callable[[], float] = time.time,
        on_enqueue: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._on_enqueue = on_enqueue
        self.reconfigure(config)

    def reconfigure(self, config: GatewayConfig) -> None:
        """A reloaded configuration: the accounts' default callback URLs from now on."""
        self._defaults = {a.name: a.default_callback_url for a in config.accounts}
        self._any_default = any(self._defaults.values())

    # -- the store's Notifier: decided inside the transaction that records the event

    def wants_status(self, account: str, callback_url: str | None) -> bool:
        return callback_url is not None or self._defaults.get(account) is not None

    def status_job(
        self, message: StoredMessage, receipts: Sequence[ReceiptRecord], now: float
    ) -> NewWebhook | None:
        url = message.callback_url or self._defaults.get(message.account)
        if url is None:
            return None
        return NewWebhook(
            url, status_payload(message, receipts, now), EVENT_MESSAGE_STATUS, message.id
        )

    def inbound_job(self, inbound: InboundMessage, now: float) -> NewWebhook | None:
        url = self._defaults.get(inbound.account)
        if url is None:
            return None
        return NewWebhook(url, inbound_payload(inbound, now), inbound_event(inbound), None)

    def opt_job(self, change: OptChange, now: float) -> NewWebhook | None:
        url = self._defaults.get(change.account)
        if url is None:
            return None
        return NewWebhook(url, opt_payload(change, now), _OPT_EVENTS[change.action], None)

    # -- queued after the event's own transaction (for callers that record events themselves)

    async def message_status(self, message_id: str) -> WebhookJob | None:
        detail = await self._store.get_message(message_id)
        job = self.status_job(detail.message, detail.receipts, self._clock())
        if job is None:
            return None
        queued = await self._store.enqueue_webhook(
            job.url, job.payload, job.event, job.message_id, self._clock()
        )
        self._enqueued()
        return queued

    async def inbound(self, inbound: InboundMessage) -> WebhookJob | None:
        job = self.inbound_job(inbound, self._clock())
        if job is None:
            return None
        queued = await self._store.enqueue_webhook(
            job.url, job.payload, job.event, None, self._clock()
        )
        self._enqueued()
        return queued

    # listeners in the shape `Gateway` calls them (receipt, outcome and inbound listeners)

    async def on_receipt(self, match: ReceiptMatch) -> None:
        """Every receipt that found its message: a ``message.status`` event."""
        if match.callback_url is None and not self._any_default:
            return  # no URL for it anywhere: skip loading the message (a hot path)
        await self.message_status(match.message_id)

    async def on_outcome(self, result: OutcomeResult) -> None:
        """A message that ended without a receipt (failed, rejected, unknown)."""
        if result.state.is_final:
            await self.message_status(result.message_id)

    async def on_inbound(self, account: AccountConfig, inbound_id: int) -> None:
        found = await self._store.list_inbound(
            after_id=inbound_id - 1, account=account.name, limit=1
        )
        if found and found[0].id == inbound_id:
            await self.inbound(found[0])
        else:
            log.warning("inbound %s of %s not found for its webhook", inbound_id, account.name)

    def _enqueued(self) -> None:
        if self._on_enqueue is not None:
            self._on_enqueue()


# ------------------------------------------------------------------------ sender


class CheckedResolver(AbstractResolver):
    """Resolves with the default resolver, then keeps only the addresses the policy allows:
    the connection is made to an address that was checked (no DNS rebinding between a check
    and the connect). A host that resolves to no allowed address fails like an unknown
    name (an OSError), and the job is retried later."""

    def __init__(self, policy: EgressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = DefaultResolver() if inner is None else inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if self._policy.name_allowed(host):
            return found
        allowed = [r for r in found if self._policy.address_allowed(_address(r["host"]))]
        if not allowed:
            refused = ", ".join(sorted({r["host"] for r in found}))
            raise OSError(
                errno.EACCES,
                f"{host} resolves only to internal addresses ({refused}); list it in "
                "[webhooks] allow_hosts if it is a receiver inside the network",
            )
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text.partition("%")[0])


class WebhookSender:
    """Delivers due outbox jobs: ``async with WebhookSender(...) as sender:`` runs it until the
    block ends (or `aclose`, idempotent). `wake` makes it look for work now (call it after an
    enqueue for low latency; otherwise it polls every ``poll_interval`` seconds).

    Up to ``webhooks.workers`` deliveries run at once, at most ``webhooks.per_host`` of them to
    one receiver (host and port). A claimed job whose receiver is at its limit waits for a
    slot of that receiver (at most ``per_host`` wait per receiver); beyond that it goes back to
    the outbox without counting as an attempt: due again at once while the receiver answers
    (the claims after it then take only what that receiver has room for), after
    ``defer_delay`` seconds once every slot of it has been busy that long without an answer.
    So a fast receiver keeps its slots busy, and a hanging one holds ``per_host`` workers and
    nothing else."""

    def __init__(
        self,
        config: GatewayConfig,
        store: Store,
        *,
        node_id: str,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        poll_interval: float = 1.0,
        batch_size: int = 32,
        close_timeout: float = 5.0,
        defer_delay: float | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self._store = store
        self._node_id = node_id or "node"
        self._metrics = metrics
        self._clock = clock
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._close_timeout = close_timeout
        self._defer_given = defer_delay
        self._resolver = resolver  # what names resolve with (None: the system's resolver)
        self.reconfigure(config)
        self._wake = asyncio.Event()
        self._closing = False
        self._http: WebhookHttp | None = None
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        #: jobs answered 2xx whose mark is not written yet, and the task writing the marks
        self._answered: list[int] = []
        self._marking: asyncio.Task[None] | None = None
        self._per_host: Counter[str] = Counter()
        self._waiting: dict[str, collections.deque[tuple[WebhookJob, Target]]] = {}
        #: a receiver whose slots and waiting line the last claim filled (None: none was)
        self._full: str | None = None
        #: since when each receiver has had every slot busy without one delivery finishing
        self._busy_since: dict[str, float] = {}

    async def __aenter__(self) -> WebhookSender:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def reconfigure(self, config: GatewayConfig) -> None:
        """The settings (at start, and from a reload): the secret, attempts and back-off
        apply to the next deliveries. The HTTP client (timeout, limits, the address policy of
        its resolver) is built at start; a reload keeps those (service/reload.py)."""
        self._settings = config.webhooks
        self._policy = config.webhooks.policy
        timeout = self._settings.timeout
        self._defer_delay = min(timeout, 5.0) if self._defer_given is None else self._defer_given
        # a job may wait for its receiver's slot (at most one delivery's timeout) before its
        # own delivery: the lease covers both
        self._lease = 2 * timeout + 30.0

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("WebhookSender already started")
        # never through a proxy: the client knows of none
        self._http = WebhookHttp(
            CheckedResolver(self._policy, self._resolver),
            timeout=self._settings.timeout,
            keep=self._settings.per_host,
        )
        self._task = asyncio.create_task(self._run(), name="smppgate-webhooks")

    def wake(self) -> None:
        self._wake.set()

    async def aclose(self) -> None:
        """Stop claiming, let deliveries in progress finish (up to ``close_timeout``), close."""
        if self._closing:
            return
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        waiting = [job.id for queue in self._waiting.values() for job, _ in queue]
        self._waiting.clear()
        if waiting:
            with contextlib.suppress(StoreError):  # else they are due when their lease ends
                await self._store.webhooks_deferred(waiting, self._clock())
        if self._deliveries:
            _, pending = await asyncio.wait(set(self._deliveries), timeout=self._close_timeout)
            for delivery in pending:
                delivery.cancel()
            if pending:
                await asyncio.wait(pending)
        await self._marked()
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def run_once(self) -> int:
        """Claim one batch of due jobs, start their deliveries and wait for them; return how
        many were claimed."""
        started = set(self._deliveries)
        claimed = await self._claim(self._batch_size)
        new = self._deliveries - started
        if new:
            await asyncio.wait(new)
        await self._marked()
        return claimed

    async def _run(self) -> None:
        polled = True  # the wait before this claim ran out (or there was none)
        while not self._closing:
            waiting = sum(len(queue) for queue in self._waiting.values())
            free = self._settings.workers - len(self._deliveries) - waiting
            limit = min(self._batch_size, free)
            if self._full is not None and not polled:
                # the last claim filled a receiver's slots and line: woken by a delivery or
                # an enqueue, claim only what that receiver has room for (the due jobs are
                # most likely its own: more would go back to the outbox at once and be
                # claimed again, a loop that keeps the store busy instead of the receiver);
                # the poll claims in full, for the other receivers' sake when that one hangs
                limit = min(limit, self._room(self._full))
            claimed = 0
            if limit > 0:
                try:
                    claimed = await self._claim(limit)
                except StoreError as exc:
                    log.warning("webhook outbox unavailable: %s", exc)
                except Exception:  # the worker outlives one bad batch
                    log.exception("webhook sender: unexpected error")
            polled = False
            if (limit <= 0 or claimed < limit or self._full is not None) and not self._closing:
                # nothing more due, every worker busy, or a receiver full: until an
                # enqueue, a finished delivery, or the poll interval
                try:
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)
                except TimeoutError:
                    polled = True
                self._wake.clear()

    async def _claim(self, limit: int) -> int:
        """Claim up to ``limit`` due jobs and start a delivery for each one whose receiver
        has room; the others wait for their receiver, or go back to the outbox."""
        jobs = await self._store.claim_webhooks(self._node_id, limit, self._clock(), self._lease)
        deferred: list[int] = []
        released: list[int] = []
        full: str | None = None
        for job in jobs:
            try:
                target = self._policy.check_url(job.url)
            except UrlRefusedError as exc:
                # queued before the policy refused it (an older version, a changed allowlist)
                await self._failed(job, f"refused: {exc}", retry=None)
                continue
            cap = self._settings.per_host
            if self._per_host[target.key] < cap:
                self._start(job, target)
                continue
            queue = self._waiting.setdefault(target.key, collections.deque())
            if len(queue) < cap:
                queue.append((job, target))
            elif self._hanging(target.key):
                deferred.append(job.id)
            else:
                released.append(job.id)  # a busy receiver that answers: due again at once
            if self._room(target.key) <= 0:
                full = target.key
        self._full = full
        if deferred:
            await self._store.webhooks_deferred(deferred, self._clock() + self._defer_delay)
        if released:
            await self._store.webhooks_deferred(released, self._clock())
        return len(jobs)

    def _room(self, key: str) -> int:
        """How many more jobs a receiver takes now: free slots and free places in its line."""
        cap = self._settings.per_host
        return 2 * cap - self._per_host[key] - len(self._waiting.get(key, ()))

    def _hanging(self, key: str) -> bool:
        """Every slot of this receiver has been busy, none answering, for ``defer_delay``."""
        since = self._busy_since.get(key)
        return since is not None and self._clock() - since >= self._defer_delay

    def _start(self, job: WebhookJob, target: Target) -> None:
        key = target.key
        self._per_host[key] += 1
        if self._per_host[key] >= self._settings.per_host:
            self._busy_since.setdefault(key, self._clock())
        task = asyncio.create_task(self._deliver(job, target), name=f"smppgate-webhook-{job.id}")
        self._deliveries.add(task)
        task.add_done_callback(functools.partial(self._finished, key))

    def _finished(self, key: str, task: asyncio.Task[None]) -> None:
        self._deliveries.discard(task)
        self._per_host[key] -= 1
        self._busy_since.pop(key, None)  # it answered (or failed): not hanging
        if self._per_host[key] <= 0:
            del self._per_host[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook delivery failed unexpectedly", exc_info=task.exception())
        queue = self._waiting.get(key)
        if queue and not self._closing:
            self._start(*queue.popleft())
            if not queue:
                del self._waiting[key]
        self._wake.set()

    async def _deliver(self, job: WebhookJob, target: Target) -> None:
        assert self._http is not None
        body = job.payload.encode()
        headers = delivery_headers(job, body, self._settings.secret, self._clock())
        error: str | None
        started = time.monotonic()
        try:
            status = await self._http.post(
                target, request_path(job.url), header_lines(headers), body
            )
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except TimeoutError:
            error = f"no answer in {self._settings.timeout:g} s"
        except HttpError as exc:
            error = f"HttpError: {exc}"
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        except asyncio.CancelledError:
            # stopped mid-POST: due again now rather than after the lease
            await asyncio.shield(self._failed(job, "interrupted by shutdown", retry=0.0))
            raise
        if self._metrics is not None:
            outcome = "delivered" if error is None else "failed"
            self._metrics.webhook_seconds.observe(outcome, value=time.monotonic() - started)
        if error is None:
            self._answered.append(job.id)
            if self._marking is None or self._marking.done():
                self._marking = asyncio.create_task(self._mark(), name="smppgate-webhook-marks")
            return
        try:
            await self._failed(job, error, retry=self._backoff(job.attempts))
        except StoreError as exc:
            # the lease runs out and the job is claimed again: at least once
            log.warning("webhook %s: could not record the outcome: %s", job.id, exc)

    async def _mark(self) -> None:
        """Mark the jobs answered 2xx as delivered, one transaction for all that are waiting:
        those answered while a mark is being written go in the next one."""
        while self._answered:
            ids, self._answered = self._answered, []
            try:
                await self._store.webhooks_delivered(ids, self._clock())
            except StoreError as exc:
                # their leases run out and they are claimed again: at least once
                log.warning("webhooks %s..: could not record the delivery: %s", ids[0], exc)
                continue
            except Exception:  # the marks outlive one bad batch, as the claims do
                log.exception("webhook sender: unexpected error marking deliveries")
                continue
            if self._metrics is not None:
                self._metrics.webhooks_total.inc("delivered", amount=len(ids))

    async def _marked(self) -> None:
        """Until every answered job's mark is written (or failed)."""
        while self._marking is not None and not self._marking.done():
            await asyncio.shield(self._marking)

    async def _failed(self, job: WebhookJob, error: str, retry: float | None) -> None:
        retry_at = None if retry is None else self._clock() + retry
        state = await self._store.webhook_failed(
            job.id, self._clock(), error, retry_at, self._settings.max_attempts
        )
        if state is WebhookState.GAVE_UP:
            log.warning(
                "webhook %s to %s: gave up after %d attempts: %s",
                job.id, job.url, job.attempts, error,
            )  # fmt: skip
            self._count("gave_up")
        else:
            log.info("webhook %s to %s failed (attempt %d): %s", job.id, job.url, job.attempts,
                     error)  # fmt: skip
            self._count("retry")

    def _backoff(self, attempts: int) -> float:
        delays = self._settings.backoff or (5.0,)
        return delays[min(max(attempts, 1), len(delays)) - 1]

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.webhook(outcome)
