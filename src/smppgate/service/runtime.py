"""The gateway at run time: store, one session pool per account, the dispatcher, incoming
receipts and MO, lease recovery — owned by one async context manager.

The dispatcher of an account is three loops, all decisions made elsewhere: claim due
messages from the store (leased to this node, their submits built: staged); as the windows
have room, mark their parts ``sent`` *before* anything is written to a socket (so a crash
leaves them ``unknown``, never silently resent) and hand them to the pool (all parts of a
message through one session, in order); record the answers as outcomes by the platform's rules
(``dispatch.outcomes_for``). Parts marked sent and not yet recorded never exceed the windows of
the bound sessions: a crash makes at most those ``unknown``, the staged rest goes back to the
queue (issue 13).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, fields
from types import TracebackType
from typing import Any, TypeVar

from smppgate.client import (
    AddressError,
    CancelError,
    ClientError,
    HeldEvent,
    IncomingEvent,
    MoPart,
    NotBoundError,
    SessionPool,
    SmppAccount,
    SubmitResult,
    TlsConfig,
    UnsupportedOperationError,
    ValidityError,
)
from smppgate.client.pool import SlotState
from smppgate.client.results import SubmitOutcome, not_sent
from smppgate.pdu import CommandId, CommandStatus, SmppMessageState, SubmitSm
from smppgate.service.blocklist import keyword_of, opt_keyword, with_keywords
from smppgate.service.cluster import SPREAD, ClusterCoordinator, process_gone
from smppgate.service.config import AccountConfig, GatewayConfig
from smppgate.service.dispatch import build_part_submits, outcomes_for
from smppgate.service.incoming import inbound_for_set, part_record, record_for
from smppgate.service.maintenance import Retention
from smppgate.service.metrics import Metrics
from smppgate.service.quiet_hours import next_allowed
from smppgate.service.reload import as_built, session_changes
from smppgate.service.smpp_mo import SmppRoutes
from smppgate.store import (
    InboundMessage,
    MarkUnknown,
    MessageState,
    NewInbound,
    NewMoPart,
    NewReceipt,
    Notifier,
    OptKeyword,
    Outcome,
    OutcomeResult,
    PartFailed,
    PartStatus,
    ReceiptMatch,
    ReceiptState,
    Requeue,
    RequeueReason,
    Store,
    StoredMessage,
    StoreError,
    StoreUnavailable,
    SubmitContext,
    open_store,
)
from smppgate.store.schedule import RELEASE_BATCH
from smppgate.text import AssemblyStatus, message_id_keys

log = logging.getLogger("smppgate.gateway")

T = TypeVar("T")
#: back-off between two tries of a store call while the database is unavailable (seconds)
STORE_RETRY_FIRST = 0.05
STORE_RETRY_MAX = 2.0
#: how long a stopping node waits for the outcomes of its last batches to be recorded (seconds)
RECORD_GRACE = 5.0
#: receipts/MO per session received and not yet stored (so not yet answered): at this many
#: the session stops reading until half of them are stored
HELD_LIMIT = 1000
#: how long the parts of a multi-part MO are waited for before the set goes out partial
REASSEMBLY_TIMEOUT = 120.0

Clock = Callable[[], float]


def default_node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


#: the settings the gateway's account and the client's share by name, copied as they are;
#: ``tls`` is the exception (the gateway's is a flag, with ca_file and tls_verify beside it)
_SHARED_FIELDS = tuple(
    f.name
    for f in fields(SmppAccount)
    if f.name != "tls" and f.name in {g.name for g in fields(AccountConfig)}
)


def client_account(account: AccountConfig) -> SmppAccount:
    """The client's view of a configured account."""
    tls = None
    if account.tls:
        tls = TlsConfig(ca_file=account.ca_file, verify=account.tls_verify)
    shared = {name: getattr(account, name) for name in _SHARED_FIELDS}
    return SmppAccount(tls=tls, **shared)


@dataclass
class DispatchStats:
    """Counters the metrics and the ops page read (no second bookkeeping)."""

    claimed: int = 0
    submitted_parts: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    receipts: int = 0
    receipts_unmatched: int = 0
    inbound: int = 0
    #: no response, and the SMSC's TCP never acknowledged the submit: requeued (issue 20)
    requeued_link_loss: int = 0
    #: no response after the SMSC's TCP acknowledged the submit (or it could not be told)
    unknown: int = 0


@dataclass(slots=True, eq=False)
class _Claimed:
    """A claimed message on its way: its planned parts, then the pool's answer."""

    message: StoredMessage
    seqs: list[int]
    pdus: list[SubmitSm]
    future: asyncio.Future[list[SubmitResult]] | None = None
    #: when it was handed to the pool (its submit_sm_resp latency counts from here)
    sent_at: float = 0.0
    #: when its last answer came: its parts' submitted_at, against which receipt latency is
    #: measured
    answered_at: float | None = None


class AccountRunner:
    """One account: its pool, its dispatcher loop and its incoming-event writer."""

    def __init__(self, gateway: Gateway, account: AccountConfig) -> None:
        self.gateway = gateway
        #: the settings in force (those of the sessions as built, while a rebuild waits)
        self.account = account
        #: what a reload asked for; its session settings are `built`'s once `rebuild` is done
        self.wanted = account
        self.built = account
        self.coordinator, self.pool = self._build(account)
        #: a rebuild of the sessions is under way: nothing more is marked sent
        self.rebuilding = False
        self.stats = DispatchStats()
        self.wakeup = asyncio.Event()
        #: claimed messages not yet recorded (staged or sent)
        self.inflight = 0
        #: claimed messages not yet recorded: their leases are renewed while this node lives,
        #: however long they wait for a session
        self.leased: set[str] = set()
        self._room = asyncio.Event()
        #: claimed, leased, not marked sent: waiting for room in the windows
        self._staged: deque[_Claimed] = deque()
        self._staged_ready = asyncio.Event()
        #: parts marked sent whose outcomes are not recorded yet (at most window_budget)
        self.unsettled_parts = 0
        #: sent messages with all their answers in, for the recorder
        self._answered: list[_Claimed] = []
        self._answered_ready = asyncio.Event()
        #: bounded by the sessions, not by a maxsize: each stops reading at HELD_LIMIT
        #: unanswered events (plus what its last read held), and a full queue must never
        #: refuse an event the session counted as held (it would never be answered)
        self._incoming: asyncio.Queue[HeldEvent] = asyncio.Queue()

    def _build(self, account: AccountConfig) -> tuple[ClusterCoordinator, SessionPool]:
        """The account's admission and session pool (not started), built from ``account``."""
        gateway = self.gateway
        self.built = account
        client = client_account(account)
        coordinator = ClusterCoordinator(
            gateway.store,
            account,
            gateway.node_id,
            gateway.clock,
            lease_seconds=gateway.config.store.lease_seconds,
            drop_cooldown=client.drop_cooldown,
            failure_cooldown=client.failure_cooldown,
            # one process owns a SQLite store: nobody to share the slots with
            spread=0.0 if gateway.store.single_process else SPREAD,
        )
        pool = SessionPool(
            client,
            on_held=self.on_held,
            held_limit=HELD_LIMIT,
            coordinator=coordinator,
            reassembly_timeout=REASSEMBLY_TIMEOUT,
            # each part of a multi-part MO is stored before it is answered (a crash between
            # the parts loses none): the set is reassembled from the store
            hand_over_parts=True,
        )
        return coordinator, pool

    def reconfigure(self, account: AccountConfig) -> bool:
        """A reloaded account: what no session is built from applies at once (the submit cap
        too: the pool takes it); True when its sessions need rebuilding (`rebuild`)."""
        self.wanted = account
        if not session_changes(self.built, account):
            if account.max_submit_rate != self.pool.account.max_submit_rate:
                self.pool.set_max_submit_rate(account.max_submit_rate)
            self.account = account
            return False
        # until rebuilt, the window, profile and sessions are those the pool runs with
        self.account = as_built(account, self.built)
        if self.rebuilding:
            return False  # the rebuild under way takes it up when it ends
        self.rebuilding = True
        return True

    async def rebuild(self) -> None:
        """Replace the sessions with ones built from `wanted`, the other accounts untouched:
        nothing more is marked sent; the parts in flight get their answers and those are
        recorded (so the rebuild makes nothing ``unknown``); receipts and MO received are stored
        and answered; the sessions unbind (recorded as ended, so the new ones bind only when
        the platform's reconnect wait allows, 60 s by default); the new pool starts. Claimed
        messages wait meanwhile (leased, nothing of them sent) and go out on the new sessions;
        queued ones stay queued. A reload during a rebuild is taken up when it ends."""
        gw = self.gateway
        self.rebuilding = True
        try:
            while not gw.stopping.is_set() and session_changes(self.built, self.wanted):
                await self._rebuild_once()
        except Exception:
            # (a task of the gateway's group: raising would stop every account)
            log.exception(
                "%s: rebuilding its sessions failed; a reload tries again", self.account.name
            )
        finally:
            self.rebuilding = False
            self._staged_ready.set()

    async def _rebuild_once(self) -> None:
        gw = self.gateway
        name = self.account.name
        changed = session_changes(self.built, self.wanted)
        log.warning(
            "%s: %s changed: rebuilding its sessions (other accounts untouched); the window "
            "drains first (%d part(s) awaiting their answer)",
            name,
            ", ".join(changed),
            self.unsettled_parts,
        )
        while self.unsettled_parts:
            self._room.clear()
            await _wait_any(self._room, gw.stopping, within=1.0)
            if gw.stopping.is_set():
                return  # the gateway's own stop closes the sessions
        # receipts and MO already received are answered on the sessions they came on (an
        # unanswered one the SMSC would deliver again)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(gw.config.shutdown_timeout):
                await self._incoming.join()
        old_pool, old_coordinator = self.pool, self.coordinator
        await old_pool.aclose(grace=gw.config.shutdown_timeout)
        try:
            # the sessions' ends recorded: the new ones wait the platform's reconnect time
            await old_coordinator.close()
        except Exception:
            log.exception("%s: cannot record that its sessions ended", name)
        if gw.stopping.is_set():
            return
        # (the settings asked for by now: a reload may have come during the drain)
        wanted = self.wanted
        self.coordinator, self.pool = self._build(wanted)
        self.account = wanted
        gw.forget_reconnects(name)
        await self.pool.start()
        self._restage()
        log.info(
            "%s: sessions rebuilt (%s); binding when the platform's reconnect wait allows",
            name,
            ", ".join(changed),
        )

    def _restage(self) -> None:
        """The submits of the claimed messages waiting for a window, built again with the
        account's settings as rebuilt (profile, receipts)."""
        for claimed in self._staged:
            try:
                submits = build_part_submits(
                    claimed.message, self.account.profile, want_receipts=self.account.receives
                )
            except (AddressError, ValidityError, ClientError, ValueError) as exc:
                log.warning(
                    "%s: message %s keeps the submits it was claimed with: %s",
                    self.account.name,
                    claimed.message.id,
                    exc,
                )
                continue
            claimed.seqs = [s.seq for s in submits]
            claimed.pdus = [s.pdu for s in submits]

    @property
    def capacity(self) -> int:
        """Messages this node keeps claimed for the account: every window slot, twice, so
        that the next messages are ready (leased, their submits built) when responses free
        the window. Only the window's worth of them is ever marked sent (``window_budget``)."""
        senders = sum(1 for mode in self.account.sessions if mode.can_submit)
        return max(1, 2 * senders * self.account.window)

    @property
    def window_budget(self) -> int:
        """Parts that may be marked ``sent`` and not yet recorded: the windows of the sessions
        bound right now. A crash makes at most these ``unknown`` (issue 13); whatever else is
        claimed has no part sent and goes back to the queue."""
        if self.rebuilding:
            return 0  # the window drains before its sessions unbind
        window = self.account.window
        return sum(window for session in self.pool.sessions if session.mode.can_submit)

    def on_held(self, held: HeldEvent) -> None:
        # not answered yet: the SMSC gets its deliver_sm_resp once run_incoming stored it
        self._incoming.put_nowait(held)

    async def run_dispatcher(self) -> None:
        """Claim, send and record, as three loops joined by bounded hand-overs: claimed
        messages wait (leased, not sent) until the windows have room; they are marked sent
        just before the pool gets them; their outcomes free the room once recorded."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._run_claims(), name=f"claim-{self.account.name}")
            tg.create_task(self._run_feeder(), name=f"feed-{self.account.name}")
            tg.create_task(self._run_recorder(), name=f"record-{self.account.name}")

    async def _run_claims(self) -> None:
        gw = self.gateway
        account = self.account
        want_receipts = account.receives
        while not gw.stopping.is_set():
            if not self.pool.sessions:
                try:
                    await self.pool.wait_ready(timeout=1.0)
                except TimeoutError:
                    pass
                except NotBoundError:  # a closed pool: stopping, or its sessions rebuilt
                    await _wait_any(asyncio.Event(), gw.stopping, within=gw.poll_interval)
                continue
            free = self.capacity - self.inflight
            if free <= 0:
                self._room.clear()
                await _wait_any(self._room, gw.stopping, within=1.0)
                continue
            now = gw.clock()
            messages = await self._claim(free, now)
            if messages is None:
                continue
            if not messages:
                self.wakeup.clear()
                await _wait_any(self.wakeup, gw.stopping, within=gw.poll_interval)
                continue
            self.stats.claimed += len(messages)
            try:
                # the claim committed: the check is retried through an outage (never left to
                # lease recovery, never skipped: a listed number gets no message)
                messages = await self._drop_blocked(messages, now)
                await self._stage(messages, want_receipts, now)
            except StoreUnavailable as exc:  # persist gave up: the node is stopping
                log.warning("%s: dispatcher stopping, store unavailable: %s", account.name, exc)
                return
            except StoreError:
                # not an outage (a bug, or data the database refuses): the node goes on; the
                # claimed messages come back through lease recovery
                log.exception("%s: recording a claimed batch failed", account.name)
                await _wait_any(asyncio.Event(), gw.stopping, within=STORE_RETRY_MAX)

    async def _claim(self, free: int, now: float) -> list[StoredMessage] | None:
        """Up to ``free`` messages (500 at most) to send now, those in their quiet hours handed
        back; None to claim again at once (the store was out, or every one was held back: the
        queue may have more behind them)."""
        gw = self.gateway
        try:
            messages = await gw.store.claim(
                gw.node_id, min(free, 500), now, gw.config.store.lease_seconds, [self.account.name]
            )
        except StoreUnavailable as exc:
            # (a claim that did commit is recovered when its leases run out)
            await gw.store_unavailable(f"claim for {self.account.name}", exc)
            return None
        if messages and gw.config.quiet_hours:
            messages = await self._postpone_quiet(messages, now)
            if not messages:
                return None
        return messages

    async def _drop_blocked(self, messages: list[StoredMessage], now: float) -> list[StoredMessage]:
        """The claimed messages without those whose number was listed after they were queued
        (the store ends those `blocked`). A read first: a write only when one is listed."""
        if not messages:
            return messages
        gw = self.gateway
        pairs = {(m.account, m.destination) for m in messages}
        listed = await gw.persist(
            "blocklist check", functools.partial(gw.store.blocked_among, pairs)
        )
        if not listed:
            return messages
        ids = [m.id for m in messages if (m.account, m.destination) in listed]
        blocking = functools.partial(gw.store.block_listed, ids, now)
        blocked = set(await gw.persist("blocked messages", blocking))
        metrics = self.gateway.metrics
        if metrics is not None and blocked:
            metrics.blocked(self.account.name, "dispatch", len(blocked))
        # their webhooks and front-door receipts were queued with the move: wake the senders
        await self.gateway.after_outcomes(
            [OutcomeResult(i, MessageState.BLOCKED) for i in sorted(blocked)]
        )
        return [m for m in messages if m.id not in blocked]

    async def _postpone_quiet(
        self, messages: list[StoredMessage], now: float
    ) -> list[StoredMessage]:
        """The claimed messages that may go now; those inside their quiet hours go back to the
        store as ``scheduled`` at the window's opening (nothing of them was marked sent). A
        store outage leaves them claimed: their leases run out and they come back."""
        gw = self.gateway
        rules = gw.config.quiet_hours
        later: list[tuple[str, float]] = []
        kept: list[StoredMessage] = []
        for message in messages:
            opens = next_allowed(
                rules, message.account, message.traffic_class, message.destination, now
            )
            # a USSD message answers a dialogue the subscriber is in: never held for hours
            if opens is None or message.ussd_service_op is not None:
                kept.append(message)
            else:
                later.append((message.id, opens))
        if later:
            try:
                await gw.store.postpone(gw.node_id, later, now, "quiet_hours")
            except StoreError as exc:
                log.warning("%s: postponing %d message(s) failed: %s", self.account.name,
                            len(later), exc)  # fmt: skip
            else:
                log.info(
                    "%s: %d message(s) postponed to their quiet hours' end",
                    self.account.name,
                    len(later),
                )
        return kept

    async def _stage(self, messages: list[StoredMessage], want_receipts: bool, now: float) -> None:
        """Build the submits of claimed messages and queue them for the feeder (leased, their
        leases renewed while they wait; nothing is marked sent yet)."""
        profile = self.account.profile
        broken: list[Outcome] = []
        for message in messages:
            try:
                submits = build_part_submits(message, profile, want_receipts=want_receipts)
            except (AddressError, ValidityError, ClientError, ValueError) as exc:
                # the intake validates first; this guards messages stored by older versions
                broken.append(
                    PartFailed(message.id, 1, None, f"invalid message: {exc}", now, rejected=True)
                )
                continue
            pdus = [s.pdu for s in submits]
            self._staged.append(_Claimed(message, [s.seq for s in submits], pdus))
            self.leased.add(message.id)
            self.inflight += 1
        self._staged_ready.set()
        if broken:
            await self._record(broken)

    async def _run_feeder(self) -> None:
        """Mark staged messages sent as the windows free up, and hand them to the pool.

        Runs until the node's tasks are cancelled (after the drain): what is staged still goes
        out while the node stops. One store call marks everything that fits at that moment (a
        group commit: the more responses came while the last mark was committing, the more
        this one carries)."""
        gw = self.gateway
        staged = self._staged
        while True:
            budget = self.window_budget
            room = budget - self.unsettled_parts
            # a message with more parts than the windows hold goes alone, when nothing else is
            # unsettled; with no session bound nothing is marked
            if not staged or (len(staged[0].seqs) > room and (self.unsettled_parts or budget <= 0)):
                self._staged_ready.clear()
                with contextlib.suppress(TimeoutError):
                    # (the timeout notices sessions bound meanwhile)
                    await asyncio.wait_for(self._staged_ready.wait(), gw.poll_interval)
                continue
            batch: list[_Claimed] = []
            parts = 0
            while staged and (not batch or parts + len(staged[0].seqs) <= room):
                claimed = staged.popleft()
                batch.append(claimed)
                parts += len(claimed.seqs)
            self.unsettled_parts += parts
            now = gw.clock()
            marks = [(c.message.id, seq) for c in batch for seq in c.seqs]
            # durability: parts are `sent` on disk before any byte of them can reach a socket
            try:
                await gw.store.mark_parts_sent(marks, now)
            except StoreError as exc:
                # not retried: nothing was sent; these messages leave the runner (their leases
                # are no longer renewed) and come back through lease recovery (never sent
                # twice: another claim may own them by the time the database answers)
                log.warning(
                    "%s: %d claimed message(s) left to lease recovery: %s",
                    self.account.name,
                    len(batch),
                    exc,
                )
                self.unsettled_parts -= parts
                self._settled(batch)
                if isinstance(exc, StoreUnavailable):
                    await gw.store_unavailable(f"mark sent for {self.account.name}", exc)
                continue
            # one hand-over for the whole round (each message still pinned to one session)
            try:
                futures = self.pool.submit_messages([c.pdus for c in batch])
            except NotBoundError as exc:
                loop = asyncio.get_running_loop()
                futures = []
                for claimed in batch:
                    future = loop.create_future()
                    future.set_result([not_sent(str(exc))] * len(claimed.pdus))
                    futures.append(future)
            answered_one = self._answered_one
            for claimed, future in zip(batch, futures, strict=True):
                claimed.future = future
                claimed.sent_at = now
                future.add_done_callback(functools.partial(answered_one, claimed))
            self.stats.submitted_parts += parts
            if gw.metrics is not None:
                gw.metrics.submitted(self.account.name, parts)
                for claimed in batch:
                    message = claimed.message
                    if message.attempts == 1:  # its first claim: from when it was due to now
                        gw.metrics.queued_seconds.observe(
                            self.account.name, value=max(0.0, now - message.next_attempt_at)
                        )

    def _answered_one(self, claimed: _Claimed, _: asyncio.Future[list[SubmitResult]]) -> None:
        claimed.answered_at = self.gateway.clock()
        self._answered.append(claimed)
        self._answered_ready.set()

    async def _run_recorder(self) -> None:
        """Record the answers of sent messages as they come (a group commit per round); their
        window budget is free again once they are stored."""
        while True:
            if not self._answered:
                self._answered_ready.clear()
                await self._answered_ready.wait()
                continue
            batch, self._answered = self._answered, []
            try:
                await self._record(self._outcomes(batch))
            finally:
                self.unsettled_parts -= sum(len(c.seqs) for c in batch)
                self._settled(batch)
                self._staged_ready.set()

    def _outcomes(self, batch: list[_Claimed]) -> list[Outcome]:
        gw = self.gateway
        now = gw.clock()
        outcomes: list[Outcome] = []
        # where each attempt happened: the session that answered (all parts of a message go
        # through one) and the host it is bound to
        hosts = {session.name: str(session.host or "") for session in self.pool.sessions}
        contexts: dict[str, SubmitContext] = {}
        metrics = gw.metrics
        # responses by status, counted into the metrics once per batch
        statuses: dict[tuple[CommandStatus | None, SubmitOutcome], int] = {}
        for claimed in batch:
            assert claimed.future is not None
            try:
                results = claimed.future.result()
            except Exception as exc:  # noqa: BLE001 - any failure before the write
                results = [not_sent(f"not sent: {exc}")] * len(claimed.seqs)
            session_name = results[0].session if results else ""
            context = contexts.get(session_name)
            if context is None:
                context = contexts[session_name] = SubmitContext(
                    gw.node_id, session_name, hosts.get(session_name, "")
                )
            answered = claimed.answered_at if claimed.answered_at is not None else now
            if metrics is not None:
                for result in results:
                    key = (result.status, result.outcome)
                    statuses[key] = statuses.get(key, 0) + 1
                if any(result.status is not None for result in results):
                    metrics.response_seconds.observe(
                        self.account.name, value=answered - claimed.sent_at
                    )
            outcomes.extend(
                outcomes_for(
                    claimed.message,
                    list(zip(claimed.seqs, results, strict=True)),
                    self.account.profile,
                    answered,
                    context,
                )
            )
        if metrics is not None:
            for (status, outcome), count in statuses.items():
                metrics.response(self.account.name, _status_label(status, outcome), count)
        return outcomes

    def _settled(self, batch: list[_Claimed]) -> None:
        """These messages leave the runner: recorded, or left to lease recovery."""
        self.leased.difference_update(c.message.id for c in batch)
        self.inflight -= len(batch)
        self._room.set()

    async def _record(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        metrics = self.gateway.metrics
        for outcome in outcomes:
            kind = type(outcome).__name__
            self.stats.outcomes[kind] = self.stats.outcomes.get(kind, 0) + 1
            if isinstance(outcome, MarkUnknown):
                self.stats.unknown += 1
                if metrics is not None:
                    metrics.no_response(self.account.name, received=True)
            elif isinstance(outcome, Requeue) and outcome.reason is RequeueReason.NOT_RECEIVED:
                self.stats.requeued_link_loss += 1
                if metrics is not None:
                    metrics.no_response(self.account.name, received=False)
        store = self.gateway.store
        # the responses exist nowhere else: retried until stored (the leases are renewed
        # meanwhile, so no other node recovers these messages)
        results = await self.gateway.persist(
            "record outcomes", lambda: store.record_outcomes(outcomes)
        )
        await self.gateway.after_outcomes(results)

    async def run_incoming(self) -> None:
        """Persist receipts and MO as they come, in batches (one commit for the receipts of a
        batch), then answer their deliver_sm: the SMSC's answer means "stored" (issue 13)."""
        while True:
            held = await self._incoming.get()
            batch = [held]
            while not self._incoming.empty() and len(batch) < 500:
                batch.append(self._incoming.get_nowait())
            try:
                await self._persist_incoming([h.event for h in batch])
            except StoreUnavailable as exc:  # only while stopping: persist retries until then
                log.error(
                    "%s: %d receipt/MO event(s) not stored, the store is unavailable while "
                    "stopping (%s); they stay unanswered: the SMSC delivers them again",
                    self.account.name,
                    len(batch),
                    exc,
                )
            except StoreError:
                # not an outage: data the database refuses, or a bug; answered all the same
                # (else the SMSC would send the same refused data again and again)
                log.exception(
                    "%s: %d receipt/MO event(s) could not be stored", self.account.name, len(batch)
                )
                _answer(batch)
            else:
                _answer(batch)
            finally:
                for _ in batch:
                    self._incoming.task_done()

    async def _persist_incoming(self, events: list[IncomingEvent]) -> None:
        """Store one batch of receipts and MO, retried until stored (the SMSC waits for their
        answers meanwhile); raises StoreUnavailable only while the node stops."""
        gw = self.gateway
        now = gw.clock()
        account = self.account  # one batch, one config: a reload applies from the next
        receipts: list[NewReceipt] = []
        parts: list[NewMoPart] = []
        for e in events:
            if isinstance(e, MoPart):
                parts.append(part_record(e, now))
                continue
            record = record_for(e, now)
            if isinstance(record, NewInbound):
                # an opt keyword: the store changes the blocklist with the MO (insert_inbound)
                record = opt_keyword(record, account)
                inbound = await gw.persist(
                    "record inbound", functools.partial(gw.store.record_inbound, record)
                )
                await self._inbound_recorded(inbound, record.opt)
            else:
                receipts.append(record)
        if parts:
            # a keyword sent in parts: recognised when the store reassembles the set, in the
            # transaction that stores its last part and the MO
            assemble = with_keywords(inbound_for_set, account)
            completed = await gw.persist(
                "record MO parts",
                functools.partial(
                    gw.store.record_mo_parts,
                    parts,
                    REASSEMBLY_TIMEOUT,
                    assemble,
                    max_sets=account.max_mo_sets,
                ),
            )
            for inbound in completed:
                if f"status={AssemblyStatus.EVICTED.value}" in inbound.parts_info.split():
                    # the oldest set in progress given up, partial, for a new one (the cap)
                    if gw.metrics is not None:
                        gw.metrics.mo_set_evicted(account.name)
                    await self._inbound_recorded(inbound)
                    continue
                opt = keyword_of(inbound.text, inbound.source, inbound.ussd_service_op, account)
                await self._inbound_recorded(inbound, opt)
        if receipts and gw.metrics is not None:
            states: dict[ReceiptState, int] = {}
            for receipt in receipts:
                states[receipt.state] = states.get(receipt.state, 0) + 1
            for state, count in states.items():
                gw.metrics.receipt(state.value, count)
        if receipts:
            matches = await gw.persist(
                "record receipts", functools.partial(gw.store.record_receipts, receipts)
            )
            self.stats.receipts += len(receipts)
            self.stats.receipts_unmatched += sum(1 for m in matches if m is None)
            if gw.metrics is not None:
                for receipt, match in zip(receipts, matches, strict=True):
                    if match is not None and match.submitted_at is not None:
                        gw.metrics.receipt_seconds.observe(
                            self.account.name,
                            value=max(0.0, receipt.received_at - match.submitted_at),
                        )
            await gw.after_receipts([m for m in matches if m is not None])

    async def _inbound_recorded(
        self, inbound: InboundMessage, opt: OptKeyword | None = None
    ) -> None:
        gw = self.gateway
        self.stats.inbound += 1
        if gw.metrics is not None:
            gw.metrics.inbound("ussd" if inbound.ussd_service_op is not None else "sms")
            if opt is not None:
                gw.metrics.opt_keyword(self.account.name, opt.action.value)
        await gw.notify_inbound(self.account, inbound.id)

    async def run_mo_expiry(self) -> None:
        """Hand over, as partial, multi-part MO sets whose parts stopped coming: stored sets
        begun ``REASSEMBLY_TIMEOUT`` ago and still incomplete (any node may: the store locks
        each set), and forget completed ones after as long."""
        gw = self.gateway
        every = REASSEMBLY_TIMEOUT / 4
        while not gw.stopping.is_set():
            await _wait_any(asyncio.Event(), gw.stopping, within=every)
            if gw.stopping.is_set():
                return
            try:
                now = gw.clock()
                for inbound in await gw.store.expire_mo_parts(
                    self.account.name, now - REASSEMBLY_TIMEOUT, now, inbound_for_set
                ):
                    await self._inbound_recorded(inbound)
            except Exception:
                log.exception("%s: handing over incomplete MO failed", self.account.name)

    async def run_query_sweeper(self) -> None:
        """Ask query_sm about messages submitted ``query_after`` seconds ago that still have no
        final receipt (D-23): an SMSC that never sends a receipt (or one lost on its side) would
        otherwise leave the message ``submitted`` forever. Ends when a reload unsets
        ``query_after``."""
        gw = self.gateway
        while not gw.stopping.is_set():
            query_after = self.account.query_after
            if query_after is None:
                return
            await _wait_any(asyncio.Event(), gw.stopping, within=max(0.5, query_after / 4))
            if gw.stopping.is_set() or self.account.query_after is None:
                return
            try:
                await self._sweep(gw.clock() - query_after)
            except Exception:
                log.exception("query_sm sweep for %s failed", self.account.name)

    async def _sweep(self, cutoff: float) -> None:
        gw = self.gateway
        after: str | None = None
        while not gw.stopping.is_set():
            page = await gw.store.list_messages(
                state=MessageState.SUBMITTED, account=self.account.name, after=after, limit=200
            )
            for message in page.items:
                if message.updated_at <= cutoff:
                    await self._query_message(message)
            if page.next_cursor is None:
                return
            after = page.next_cursor

    async def _query_message(self, message: StoredMessage) -> None:
        gw = self.gateway
        receipts: list[NewReceipt] = []
        for part in message.parts:
            if part.status is not PartStatus.ACCEPTED or not part.smsc_message_id:
                continue
            if part.receipt_state is not None and part.receipt_state.is_final:
                continue
            try:
                result = await self.pool.query(part.smsc_message_id, message.source)
            except (ClientError, TimeoutError) as exc:
                log.info("query_sm %s failed: %s", part.smsc_message_id, exc)
                continue
            state = _QUERY_STATES.get(result.state)
            if state is None or not state.is_final:
                continue
            receipts.append(
                NewReceipt(
                    keys=message_id_keys(part.smsc_message_id),
                    raw=f"query_sm_resp: id:{result.message_id} state:{state.value} "
                    f"final_date:{result.final_date} err:{result.error_code}",
                    state=state,
                    received_at=gw.clock(),
                    error_code=str(result.error_code),
                    account=self.account.name,
                )
            )
        if receipts:
            matches = await gw.store.record_receipts(receipts)
            await gw.after_receipts([m for m in matches if m is not None])

    @property
    def pending_incoming(self) -> int:
        return self._incoming.qsize()

    async def settle(self, grace: float) -> None:
        """After the pool closed: wait (at most ``grace`` s) until the answers of the messages
        marked sent — those a closed session left without one are ``unknown`` — are recorded.
        What is not recorded by then is recovered at the next start, as are the messages still
        staged (nothing of them was sent: they go back to the queue)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                while self.unsettled_parts:
                    self._room.clear()
                    await self._room.wait()

    async def drain(self, grace: float) -> None:
        """Wait for in-flight submits and queued incoming events, at most ``grace`` s."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                while self.inflight:
                    self._room.clear()
                    await self._room.wait()
                await self._incoming.join()


_QUERY_STATES: dict[object, ReceiptState] = {
    SmppMessageState.ENROUTE: ReceiptState.ENROUTE,
    SmppMessageState.DELIVERED: ReceiptState.DELIVERED,
    SmppMessageState.EXPIRED: ReceiptState.EXPIRED,
    SmppMessageState.DELETED: ReceiptState.DELETED,
    SmppMessageState.UNDELIVERABLE: ReceiptState.UNDELIVERABLE,
    SmppMessageState.ACCEPTED: ReceiptState.ACCEPTED,
    SmppMessageState.UNKNOWN: ReceiptState.UNKNOWN,
    SmppMessageState.REJECTED: ReceiptState.REJECTED,
}


def _answer(batch: list[HeldEvent]) -> None:
    for held in batch:
        held.answer.send()


def _status_label(status: CommandStatus | None, outcome: SubmitOutcome) -> str:
    """The ``status`` label of a submit response in the metrics."""
    if status is not None:
        return status.name
    if outcome is SubmitOutcome.UNKNOWN:
        return "NO_RESPONSE"
    if outcome is SubmitOutcome.NOT_RECEIVED:
        return "NOT_RECEIVED"
    return "NOT_SENT"


async def _wait_any(event: asyncio.Event, stop: asyncio.Event, within: float) -> None:
    waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


class Gateway:
    """Everything `smppgate serve` runs, as one async context manager.

    ``hooks`` receive status changes (for webhooks and metrics); the HTTP API and the webhook
    sender are attached by the serve command around this object.
    """

    def __init__(
        self,
        config: GatewayConfig,
        *,
        clock: Clock = time.time,
        node_id: str | None = None,
        poll_interval: float = 0.05,
        retention_interval: float = 60.0,
        schedule_interval: float = 1.0,
        metrics: Metrics | None = None,
        notifier: Callable[[Store], Notifier] | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        #: makes the store's notifier (the webhooks of events, decided in their transactions)
        #: as soon as the store is open, before the recovery at start records anything
        self._notifier = notifier
        self._reconnects_seen: dict[tuple[str, int], int] = {}
        #: accounts whose query_sm sweeper runs
        self._sweeping: set[str] = set()
        self.clock = clock
        self.node_id = node_id or config.node_id or default_node_id()
        self.poll_interval = poll_interval
        self.retention_interval = retention_interval
        #: seconds between looks for scheduled messages that became due
        self.schedule_interval = schedule_interval
        self.retention: Retention | None = None
        self.stopping = asyncio.Event()
        self._store: Store | None = None
        self.runners: dict[str, AccountRunner] = {}
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._recovered_unknown: list[str] = []
        #: called once per recorded batch with its matches / outcomes (they wake senders:
        #: one call per batch, not per message)
        self.receipt_listeners: list[Callable[[list[ReceiptMatch]], Awaitable[None]]] = []
        self.outcome_listeners: list[Callable[[list[OutcomeResult]], Awaitable[None]]] = []
        self.inbound_listeners: list[Callable[[AccountConfig, int], Awaitable[None]]] = []

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the gateway is not started")
        return self._store

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        self._store = await open_store(self.config.store.url)
        if self._notifier is not None:
            self._store.notifier = self._notifier(self._store)
        #: MO routed to front door applications in the transactions that record them (a
        #: multi-part one is reassembled and recorded by the store itself)
        self._store.mo_router = SmppRoutes(lambda: self.config.smpp_server)
        for account in self.config.accounts:
            self.runners[account.name] = AccountRunner(self, account)
        await self.recover_at_start()
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        for account in self.config.accounts:
            runner = self.runners[account.name]
            await runner.pool.start()
            self._spawn(runner.run_dispatcher(), f"dispatch-{account.name}")
            self._spawn(runner.run_incoming(), f"incoming-{account.name}")
            self._spawn(runner.run_mo_expiry(), f"mo-expiry-{account.name}")
            if account.query_after is not None:
                self._spawn_sweeper(runner)
        self._spawn(self._recover_leases(), "lease-recovery")
        self._spawn(self._release_scheduled(), "scheduled")
        self.retention = Retention(
            self.store,
            lambda: self.config.store,
            self.node_id,
            clock=self.clock,
            metrics=self.metrics,
            interval=self.retention_interval,
        )
        self._spawn(self.retention.run(self.stopping), "retention")
        if self.metrics is not None:
            self._spawn(self._sample_pools(self.metrics), "pool-metrics")
        log.info(
            "gateway node %s started: %d account(s), store %s",
            self.node_id,
            len(self.runners),
            self.store.dialect,
        )

    async def recover_at_start(self) -> None:
        """What this node (or, on SQLite, the previous process) left behind. Messages in
        flight: those with no part possibly sent go back to the queue, the others become
        ``unknown``. Sessions left open: they ended (at the latest now), so their drop is
        recorded and the platform's reconnect wait runs from then (``ClusterCoordinator``)."""
        now = self.clock()
        # one process owns a SQLite store: every lease and slot left there is a dead process's;
        # on PostgreSQL, those of this node_id and of this host's exited processes (the same
        # rule as the session slots'); any other node's when they run out (`_recover_leases`)
        sqlite = self.store.single_process
        gone = [] if sqlite else [n for n in await self.store.lease_holders() if process_gone(n)]
        report = await self.store.recover_expired_leases(
            now,
            node_id=None if sqlite else self.node_id,
            recovered_by=self.node_id,
            every_lease=sqlite,
            gone=gone,
        )
        for runner in self.runners.values():
            await runner.coordinator.recover_at_start(now, every_slot=sqlite)
        if report.requeued or report.unknown:
            log.warning(
                "recovered after restart: %d requeued, %d unknown (a submit may have gone out)",
                len(report.requeued),
                len(report.unknown),
            )
        # their final state is told to the listeners (webhooks) by the recovery loop: the
        # listeners are attached after start
        self._recovered_unknown.extend(report.unknown)

    async def _recover_leases(self) -> None:
        interval = max(1.0, self.config.store.lease_seconds / 4)
        while not self.stopping.is_set():
            await _wait_any(asyncio.Event(), self.stopping, within=interval)
            if self.stopping.is_set():
                return
            try:
                lease = self.config.store.lease_seconds
                for runner in self.runners.values():
                    if runner.leased:
                        await self.store.renew_leases(
                            self.node_id, list(runner.leased), self.clock(), lease
                        )
                    for slot in await runner.coordinator.renew():
                        runner.pool.end_slot(slot)
                report = await self.store.recover_expired_leases(
                    self.clock(), recovered_by=self.node_id
                )
                if report.requeued or report.unknown:
                    log.warning(
                        "recovered expired leases: %d requeued, %d unknown (a submit may have "
                        "gone out)",
                        len(report.requeued),
                        len(report.unknown),
                    )
                # a message that became unknown here is final: one webhook, from this node
                unknown = [*self._recovered_unknown, *report.unknown]
                self._recovered_unknown.clear()
                await self.after_outcomes(
                    [OutcomeResult(message_id, MessageState.UNKNOWN) for message_id in unknown]
                )
            except Exception:
                log.exception("lease recovery failed; retrying in %.0f s", interval)

    async def _release_scheduled(self) -> None:
        """Scheduled messages whose time came join the queue (``queued``), and the dispatchers
        of their accounts look at it at once. Every node may do it: each row moves once."""
        while not self.stopping.is_set():
            try:
                moved = RELEASE_BATCH
                while moved >= RELEASE_BATCH and not self.stopping.is_set():
                    moved = await self.store.release_scheduled(self.clock())
                    if moved:
                        self.wake()
            except StoreError as exc:
                log.warning("releasing scheduled messages failed (retrying): %s", exc)
            await _wait_any(asyncio.Event(), self.stopping, within=self.schedule_interval)

    async def _sample_pools(self, metrics: Metrics) -> None:
        """Session gauges from the pools' snapshots, once a second (the same figures the ops
        page shows: one source)."""
        while not self.stopping.is_set():
            for name, runner in self.runners.items():
                for slot in runner.pool.snapshot().slots:
                    session = f"{name}#{slot.slot}"
                    for host in {str(h) for h in runner.account.hosts}:
                        metrics.session_state(
                            name, host, session, slot.host == host and slot.state is SlotState.BOUND
                        )
                    metrics.window(name, session, slot.window_used)
                    seen = self._reconnects_seen.get((name, slot.slot), 0)
                    if slot.reconnects > seen:
                        metrics.reconnect(name, slot.host or "")
                        self._reconnects_seen[(name, slot.slot)] = slot.reconnects
            await _wait_any(asyncio.Event(), self.stopping, within=1.0)

    def _spawn_sweeper(self, runner: AccountRunner) -> None:
        name = runner.account.name
        self._sweeping.add(name)

        async def sweep() -> None:
            try:
                await runner.run_query_sweeper()
            finally:
                self._sweeping.discard(name)

        self._spawn(sweep(), f"query-{name}")

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        assert self._tg is not None
        self._tasks.append(self._tg.create_task(coro, name=name))

    def reconfigure(self, config: GatewayConfig) -> None:
        """A reloaded configuration (service/reload.py), with the same accounts: an account
        whose session settings changed gets its sessions rebuilt, alone (`AccountRunner.
        rebuild`); the others apply at once."""
        self.config = config
        for name, runner in self.runners.items():
            if runner.reconfigure(config.account(name)) and not self.stopping.is_set():
                self._spawn(runner.rebuild(), f"rebuild-{name}")
            if runner.account.query_after is not None and name not in self._sweeping:
                self._spawn_sweeper(runner)

    def forget_reconnects(self, account: str) -> None:
        """The account's pool was rebuilt: its slots count reconnects from 0 again."""
        for key in [k for k in self._reconnects_seen if k[0] == account]:
            del self._reconnects_seen[key]

    async def cancel_upstream(self, message: StoredMessage) -> str | None:
        """cancel_sm at the SMSC for each part of a submitted ``message`` that has no final
        receipt yet, through its account's sessions: None when the SMSC agreed for every one,
        else why not (the profile has no cancel_sm, the SMSC refused, no answer came). A
        refusal after some parts were cancelled leaves those parts to their receipts."""
        runner = self.runners.get(message.account)
        if runner is None:
            return f"account {message.account!r} does not run on this node"
        profile = runner.account.profile
        if not profile.supports(CommandId.CANCEL_SM):
            return f"the {profile.name} profile has no cancel_sm"
        parts = [p for p in message.parts if p.status is PartStatus.ACCEPTED]
        if message.uses_payload:
            parts = parts[:1]  # the SMSC split it: one message, one id
        if any(p.receipt_state is not None and p.receipt_state.is_final for p in parts):
            return "a part of it already has its final receipt"
        for part in parts:
            if not part.smsc_message_id:
                return f"part {part.seq} has no SMSC message id to cancel"
            try:
                await runner.pool.cancel(part.smsc_message_id, message.source)
            except CancelError as exc:
                return f"the SMSC refused cancel_sm for part {part.seq}: {exc.status.name}"
            except (ClientError, TimeoutError, UnsupportedOperationError) as exc:
                return f"cancel_sm for part {part.seq} failed: {exc}"
        log.info("%s: message %s cancelled at the SMSC", message.account, message.id)
        return None

    def wake(self, account: str | None = None) -> None:
        """New messages were queued: the dispatchers look at the queue now."""
        for name, runner in self.runners.items():
            if account is None or name == account:
                runner.wakeup.set()

    async def persist(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run a store call until it succeeds. A ``StoreUnavailable`` (the database restarting,
        failing over, or busy; nothing was committed) is retried with a back-off for as long as
        the node runs, because what the call carries (responses; receipts and MO the SMSC waits
        to have answered) exists nowhere else. While stopping, the error is raised."""
        delay = STORE_RETRY_FIRST
        while True:
            try:
                return await call()
            except StoreUnavailable as exc:
                if self.stopping.is_set():
                    raise
                await self.store_unavailable(what, exc, delay)
                delay = min(delay * 2, STORE_RETRY_MAX)

    async def store_unavailable(
        self, what: str, exc: StoreUnavailable, delay: float = STORE_RETRY_MAX
    ) -> None:
        """Log a failed store call and wait ``delay`` (or until the node stops)."""
        log.warning("%s: store unavailable (%s); retrying in %.2f s", what, exc, delay)
        await _wait_any(asyncio.Event(), self.stopping, within=delay)

    async def after_outcomes(self, results: list[OutcomeResult]) -> None:
        if not results:
            return
        for listener in self.outcome_listeners:
            await listener(results)
        late = [match for result in results for match in result.late_matches]
        if late:
            await self.after_receipts(late)

    async def after_receipts(self, matches: list[ReceiptMatch]) -> None:
        if not matches:
            return
        for listener in self.receipt_listeners:
            await listener(matches)

    async def notify_inbound(self, account: AccountConfig, inbound_id: int) -> None:
        for listener in self.inbound_listeners:
            await listener(account, inbound_id)

    async def ready(self) -> tuple[bool, dict[str, object]]:
        """Store reachable and at least one session bound per account (for /readyz)."""
        details: dict[str, object] = {}
        ok = True
        try:
            await self.store.ping()
            details["store"] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            details["store"] = f"unavailable: {exc}"
            ok = False
        for name, runner in self.runners.items():
            bound = len(runner.pool.sessions)
            details[f"account:{name}"] = f"{bound} session(s) bound"
            ok = ok and bound > 0
            waits = [
                slot.cooldown_left
                for slot in runner.pool.snapshot().slots
                if slot.state is SlotState.WAITING and slot.cooldown_left > 0
            ]
            if not bound and waits:
                # why it is not ready: the platform's wait after a session ended (a restart
                # too), not a fault to page anyone about
                details[f"cooldown:{name}"] = round(min(waits), 1)
        return ok, details

    async def aclose(self) -> None:
        """Graceful stop, in this order: stop claiming; wait for in-flight responses, at most
        ``shutdown_timeout`` in all; unbind every session (what is still unanswered then
        becomes ``unknown``); record those outcomes; record that the sessions ended (so the
        next start waits the platform's reconnect time); give the slots back; close the
        store. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self.stopping.set()
        for runner in self.runners.values():
            runner.wakeup.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.shutdown_timeout
        await asyncio.gather(
            *(r.drain(self.config.shutdown_timeout) for r in self.runners.values())
        )
        # the limit holds for the sessions too: after it, no response is waited for
        grace = max(0.0, deadline - loop.time())
        await asyncio.gather(*(r.pool.aclose(grace=grace) for r in self.runners.values()))
        await asyncio.gather(*(r.settle(RECORD_GRACE) for r in self.runners.values()))
        for runner in self.runners.values():
            try:
                await runner.coordinator.close()
            except Exception:
                log.exception(
                    "%s: cannot record that its sessions ended; the next start infers it",
                    runner.account.name,
                )
        with contextlib.suppress(Exception):
            await self.store.release_node_slots(self.node_id)
        if self._tg is not None:
            for task in self._tasks:
                task.cancel()
            with contextlib.suppress(BaseExceptionGroup, asyncio.CancelledError):
                await self._tg.__aexit__(None, None, None)
        if self._store is not None:
            await self._store.aclose()
        log.info("gateway node %s stopped", self.node_id)
