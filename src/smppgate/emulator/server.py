"""The platform emulator: the platform's imitation on the SMPP server layer (``smppgate.smsc``)
that behaves like the Devino platform and can be told to misbehave.

The ``SmscServer`` owns the listeners, the connections, who is bound and the deliver_sm queue
per account; the ``Emulator`` is its handler: bind rules, the message book, the receipt
schedule, the fault rules and the logs. Decisions are the pure pieces of this package
(``validation``, ``faults``, ``admission``); this module carries them out. A plain submit_sm
is answered from its bytes by the fenced fast path in ``_fast``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple

from smppgate.emulator._fast import FastSubmit, ReceiptFields, receipt_fields
from smppgate.emulator.admission import ReconnectWatch
from smppgate.emulator.config import (
    Account,
    EmulatorConfig,
    IdFormat,
    ReceiptIdFormat,
    ShortValidity,
)
from smppgate.emulator.deliveries import billed_segments, mo_pdus
from smppgate.emulator.errors import NoReceiverError
from smppgate.emulator.faults import (
    NO_CONNECTION_FAULTS,
    ConnectionFaults,
    Faults,
    SubmitFacts,
)
from smppgate.emulator.ledger import (
    BoundedIndex,
    Counters,
    Log,
    MessageIds,
    MessageStatus,
    SessionEvent,
    SubmitRecord,
    Violation,
)
from smppgate.emulator.outcomes import ERROR_CODES
from smppgate.emulator.validation import (
    AddressRules,
    Content,
    Finding,
    check_addresses,
    check_content,
    check_destination,
    check_source,
    check_validity,
)
from smppgate.lifecycle import AsyncLifecycle
from smppgate.pdu import (
    CancelSm,
    CancelSmResp,
    CommandId,
    CommandStatus,
    DataSm,
    DataSmResp,
    DeliverSm,
    EsmClass,
    GenericNack,
    Pdu,
    QuerySm,
    QuerySmResp,
    RegisteredDelivery,
    ReplaceSm,
    ReplaceSmResp,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    TlvTag,
    UnsuccessSme,
    encode,
)
from smppgate.session import (
    BindMode,
    BindRequested,
    CloseReason,
    SessionConfig,
)
from smppgate.smsc import (
    BindGuard,
    Delivery,
    ServerConnection,
    SmscHandler,
    SmscServer,
    guard_key,
)
from smppgate.smsc.receipts import ReceiptDates, message_text, receipt_deliver_sm
from smppgate.text import (
    AssembledMessage,
    DefaultAlphabet,
    DeliveryState,
    Reassembler,
    TextError,
)

log = logging.getLogger("smppgate.emulator")

_OK = CommandStatus.ESME_ROK
_ENQUIRE_LINK_RESP_ID = int(CommandId.ENQUIRE_LINK_RESP).to_bytes(4, "big")
# plain ints: an IntFlag operand would cost a flag construction per submit
_UDHI = int(EsmClass.UDHI)
_RECEIPT_WANTED = int(RegisteredDelivery.RECEIPT_ALWAYS | RegisteredDelivery.RECEIPT_ON_FAILURE)
_RECEIPT_ON_FAILURE = int(RegisteredDelivery.RECEIPT_ON_FAILURE)
_MAX_QFULL_RETRIES = 5
_QFULL_TOLERANCE = 0.5
#: a message as the retry checks know it: (system_id, destination, content)
_SubmitKey = tuple[str, str, bytes]


class SessionInfo(NamedTuple):
    """A connection as the API shows it."""

    id: int
    system_id: str | None
    mode: BindMode | None
    traffic_class: str
    peer: tuple[str, int] | None
    bound_at: float | None


class PlatformDelivery(Delivery):
    """A receipt or MO for a receiver of an account; ``done`` gets the response status when
    someone awaits it (MO injection)."""

    __slots__ = ("done", "kind")

    def __init__(
        self, pdu: DeliverSm, kind: str, done: asyncio.Future[CommandStatus] | None
    ) -> None:
        super().__init__(pdu)
        self.kind = kind
        self.done = done


class _Due(NamedTuple):
    at: float
    message_id: str
    destination: str  # the handset (for submit_multi: one entry per destination)
    forced: DeliveryState | None  # EXPIRED for a too-short validity that was accepted


# tuple.__new__ straight: half the cost of calling a NamedTuple (its generated __new__ is Python)
_new_due = tuple.__new__


def _frames_with(data: bytes, command_id: bytes) -> int:
    """How many whole PDUs in ``data`` have ``command_id``."""
    count = position = 0
    end = len(data)
    while position + 16 <= end:
        length = int.from_bytes(data[position : position + 4], "big")
        if data[position + 4 : position + 8] == command_id:
            count += 1
        position += max(length, 16)
    return count


def _without(data: bytes, command_id: bytes) -> bytes:
    """``data`` without the PDUs that have ``command_id``."""
    kept: list[bytes] = []
    position = 0
    end = len(data)
    while position + 16 <= end:
        length = max(int.from_bytes(data[position : position + 4], "big"), 16)
        if data[position + 4 : position + 8] != command_id:
            kept.append(data[position : position + length])
        position += length
    return b"".join(kept)


class SmscConnection(ServerConnection):
    """A client's connection to the emulator, with what the platform imitation tracks per
    session (listener class, requests, throttling, the faults in force)."""

    def __init__(self, emulator: Emulator, traffic_class: str) -> None:
        super().__init__(emulator.smsc)
        self.emulator = emulator
        self.traffic_class = traffic_class
        self.requests = 0
        self.throttled_at: float | None = None
        self.last_write = emulator.now()
        self._fault_version = -1
        self._faults = NO_CONNECTION_FAULTS

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.last_write = self.now()
        super().connection_made(transport)

    def forget_faults(self) -> None:
        """The account is known now (or changed): read the connection faults again."""
        self._fault_version = -1

    @property
    def faults_in_force(self) -> ConnectionFaults:
        faults = self.emulator.faults
        if faults.version != self._fault_version:
            self._fault_version = faults.version
            self._faults = faults.connection_faults(self.system_id)
        return self._faults

    @property
    def can_receive(self) -> bool:
        return super().can_receive and not self.faults_in_force.silence

    def info(self) -> SessionInfo:
        return SessionInfo(
            self.id, self.system_id, self.session.mode, self.traffic_class, self.peer, self.bound_at
        )

    def filter_output(self, data: bytes) -> bytes:
        faults = self.faults_in_force
        if faults is not NO_CONNECTION_FAULTS:
            if faults.silence:
                return b""
            if faults.mute_enquire_link and _ENQUIRE_LINK_RESP_ID in data:
                data = _without(data, _ENQUIRE_LINK_RESP_ID)
                self.emulator._event(self, "enquire_link_muted", "enquire_link left unanswered")
                if not data:
                    return data
        now = self.now()
        if _ENQUIRE_LINK_RESP_ID in data and _frames_with(data, _ENQUIRE_LINK_RESP_ID):
            self.emulator._check_enquire_link(self, now)
        self.last_write = now
        return data


class Emulator(AsyncLifecycle, SmscHandler):
    """The platform emulator; an async context manager owning its server (listeners and
    sessions). It is the server's handler: the methods of ``SmscHandler`` are its platform
    rules.

    ``clock`` (seconds, any origin) is what every timing rule reads; it defaults to the event
    loop's clock."""

    def __init__(
        self, config: EmulatorConfig | None = None, *, clock: Callable[[], float] | None = None
    ) -> None:
        self.config = config = config or EmulatorConfig()
        self._clock = clock
        self.session_config = SessionConfig(
            window=config.deliver_window,
            response_timeout=config.deliver_timeout,
            unbind_timeout=config.unbind_timeout,
            bind_timeout=config.bind_timeout,
        )
        self.faults = Faults(self.now)
        self.counters = Counters()
        self.records: Log[SubmitRecord] = Log(max(config.record_limit, 1))
        self.violations: Log[Violation] = Log(config.violation_limit)
        self.events: Log[SessionEvent] = Log(config.event_limit)
        self.assembled: Log[AssembledMessage] = Log(config.record_limit or 1)
        #: deliver_sm (receipts, MO) the client answered with ESME_ROK, when records are kept:
        #: what the client took responsibility for
        self.answered: Log[DeliverSm] = Log(max(config.record_limit, 1))
        self.accounts: dict[str, Account] = config.account_map
        self._record_submits = config.record_limit > 0
        self._due: deque[_Due] = deque()
        self._due_timer: asyncio.TimerHandle | None = None
        self._receipt_dates = ReceiptDates()
        self._receipt_ids = ReceiptIdFormat(config.receipt_id_format)
        self.book: BoundedIndex[str, SubmitRecord] = BoundedIndex(config.message_limit)
        self._states: BoundedIndex[str, MessageStatus] = BoundedIndex(config.message_limit)
        # open split messages: (source, destination, reference, total) -> (system_id, parts
        # seen); a group is forgotten once every part came, so a later message that happens to
        # reuse the reference (from any account) starts a new group
        self._groups: BoundedIndex[tuple[str, str, int, int], tuple[str, frozenset[int]]] = (
            BoundedIndex(20_000)
        )
        self._rejected_destinations: BoundedIndex[_SubmitKey, float] = BoundedIndex(20_000)
        # the fast path stands aside while retry checks are armed or any fault is in force
        self.watching = False
        self._qfull: OrderedDict[_SubmitKey, tuple[int, float]] = OrderedDict()
        self._reassembler = Reassembler(max_sets=10_000)
        self.ids = MessageIds(
            config.message_id_start
            if config.message_id_start is not None
            else int(time.time() * 1_000_000),
            IdFormat(config.message_id_format),
        )
        self._rng = random.Random(config.seed)
        self._guard = BindGuard(
            delay_after=config.failed_binds_before_delay,
            delay=config.failed_bind_delay,
            lockout_after=config.failed_binds_before_lockout,
            lockout=config.lockout_seconds,
            window=config.failed_bind_window,
        )
        self._watch = ReconnectWatch(config.reconnect_after_drop, config.reconnect_after_failure)
        self.address_rules = AddressRules(
            config.source_ton, config.source_npi, config.dest_ton, config.dest_npi
        )
        self._handles: set[asyncio.TimerHandle] = set()
        self._waiting: set[asyncio.Future[CommandStatus]] = set()
        self._mo_reference = 0
        self._wall_offset = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = False
        self._closed = False
        # the fast submit path is handed to the server at start, once the clock is known
        self.smsc = SmscServer(
            self, self.session_config, clock=self.now, queue_limit=config.receipt_queue_limit
        )
        self.server = self.smsc

    # ------------------------------------------------------------------ lifecycle

    def now(self) -> float:
        if self._clock is not None:
            return self._clock()
        return asyncio.get_running_loop().time()

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) of every listener, in the configuration's order."""
        return self.smsc.addresses

    def wall(self, at: float) -> datetime:
        """The UTC date of clock time ``at`` (for receipts and query_sm)."""
        return datetime.fromtimestamp(at + self._wall_offset, UTC)

    async def start(self) -> None:
        """Open every listener (port 0 picks a free one; see ``addresses``)."""
        if self._started:
            return
        self._started = True
        self._loop = loop = asyncio.get_running_loop()
        if self._clock is None:
            self._clock = loop.time
        if self.config.fast_path:
            self.smsc.fast_request = (CommandId.SUBMIT_SM, FastSubmit(self, self._clock).answer)
        self._wall_offset = time.time() - self.now()
        for spec in self.config.faults:
            self.faults.add(spec.fault, account=spec.account, prefix=spec.prefix, **spec.params)
        try:
            for listener in self.config.listeners:
                context = listener.make_ssl_context()
                klass = str(listener.traffic_class)
                host, port = await self.smsc.listen(
                    listener.host,
                    listener.port,
                    ssl_context=context,
                    factory=lambda klass=klass: SmscConnection(self, klass),  # type: ignore[misc]
                )
                log.info(
                    "listening on %s:%d (%s%s)",
                    host,
                    port,
                    klass,
                    ", TLS" if context is not None else "",
                )
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Stop listening, drop every connection, cancel timers. Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self.smsc.aclose()
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()
        if self._due_timer is not None:
            self._due_timer.cancel()
            self._due_timer = None
        for future in self._waiting:
            future.cancel()
        self._waiting.clear()

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) of the first listener."""
        return self.addresses[0]

    # ------------------------------------------------------------------ public API

    def bound_sessions(self, system_id: str | None = None) -> list[SessionInfo]:
        return [c.info() for c in self._targets(system_id)]

    def sessions(self) -> list[SessionInfo]:
        """Every open connection, bound or not."""
        return [c.info() for c in self.smsc.connections.values() if isinstance(c, SmscConnection)]

    def drop_sessions(self, system_id: str | None = None) -> int:
        """Close the TCP connection of the account's bound sessions (all when None) without an
        unbind, as a network failure would; returns how many."""
        targets = self._targets(system_id)
        for connection in targets:
            self._event(connection, "drop", "dropped by the emulator")
            connection.abort(CloseReason.POLICY)
        return len(targets)

    def unbind_sessions(self, system_id: str | None = None) -> int:
        """Send unbind on the account's bound sessions (all when None); they close on the
        client's unbind_resp or after unbind_timeout. Returns how many."""
        for connection in self._targets(system_id):
            self._event(connection, "unbind_sent", "unbind sent by the emulator")
        return self.smsc.unbind(system_id)

    def _targets(self, system_id: str | None) -> list[SmscConnection]:
        return [c for c in self.smsc.bound(system_id) if isinstance(c, SmscConnection)]

    def pending_deliveries(self, system_id: str) -> int:
        """Receipts and MO waiting for a receiver of the account."""
        return self.smsc.pending(system_id)

    def message_state(self, message_id: str) -> MessageStatus | None:
        """The state a query_sm would report now (None for an unknown id)."""
        record = self.book.get(message_id)
        if record is None:
            return None
        return self._current_state(message_id, record, self.now())

    def stats(self) -> dict[str, object]:
        return {
            "counters": self.counters.snapshot(),
            "sessions": [
                {
                    "id": info.id,
                    "system_id": info.system_id,
                    "mode": info.mode.value if info.mode else None,
                    "traffic_class": info.traffic_class,
                    "peer": f"{info.peer[0]}:{info.peer[1]}" if info.peer else None,
                }
                for info in self.sessions()
            ],
            "pending_deliveries": self.smsc.pending_by_system_id(),
            "receipts_scheduled": len(self._due),
            "violations": len(self.violations),
            "assembled": len(self.assembled),
            "faults": self.faults.describe(),
        }

    def assembled_messages(self) -> list[dict[str, object]]:
        """The split messages the emulator reassembled from accepted parts (or gave up on:
        ``complete`` false, ``missing`` parts), oldest first; texts read with the account's
        alphabet. A tester sees from outside whether a client's concatenation was valid."""
        listed: list[dict[str, object]] = []
        for message in self.assembled:
            try:
                text: str | None = message.text(self._alphabet(message.account))
            except TextError:
                text = None
            listed.append(
                {
                    "system_id": message.account,
                    "source": message.source,
                    "destination": message.destination,
                    "reference": message.reference,
                    "total": message.total,
                    "complete": message.complete,
                    "missing": list(message.missing),
                    "data_coding": message.data_coding,
                    "text": text,
                }
            )
        return listed

    def _alphabet(self, system_id: str | None) -> DefaultAlphabet:
        account = self.accounts.get(system_id or "")
        return account.default_alphabet if account is not None else DefaultAlphabet.GSM7

    async def inject_mo(
        self,
        system_id: str,
        source: str,
        destination: str,
        text: str,
        *,
        concatenated: bool = False,
        ussd_service_op: int | None = None,
        answer_within: float = 10.0,
    ) -> list[CommandStatus]:
        """Send an MO (or, with ``ussd_service_op``, a USSD) message to a bound receiver of
        ``system_id``; returns the deliver_sm_resp statuses once every part was answered.

        Raises NoReceiverError when no rx/trx session of the account is bound, TimeoutError
        when the client does not answer within ``answer_within`` seconds."""
        if not self.smsc.can_deliver(system_id):
            raise NoReceiverError(system_id)
        self._mo_reference = (self._mo_reference + 1) & 0xFF
        pdus = mo_pdus(
            source=source,
            destination=destination,
            text=text,
            concatenated=concatenated,
            reference=self._mo_reference,
            ussd_service_op=ussd_service_op,
            default_alphabet=self._alphabet(system_id),
        )
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[CommandStatus]] = []
        for pdu in pdus:
            future: asyncio.Future[CommandStatus] = loop.create_future()
            futures.append(future)
            self._waiting.add(future)
            future.add_done_callback(self._waiting.discard)
            self.smsc.deliver(system_id, PlatformDelivery(pdu, "mo", future))
        self.counters.mo_sent += len(pdus)
        async with asyncio.timeout(answer_within):
            return list(await asyncio.gather(*futures))

    # ------------------------------------------------------------------ bookkeeping

    def _event(self, connection: ServerConnection, kind: str, detail: str = "") -> None:
        self.events.append(
            SessionEvent(self.now(), connection.id, kind, connection.system_id, detail)
        )

    def protocol_error(self, connection: ServerConnection, detail: str) -> None:
        """A request answered with generic_nack or an error before any platform check: logged,
        counted (``protocol_errors`` in the stats) and kept in the session events."""
        self.counters.protocol_errors += 1
        self._event(connection, "protocol_error", detail)
        log.warning(
            "protocol error session=%s system_id=%s: %s",
            connection.id,
            connection.system_id,
            detail,
        )

    def violation(self, rule: str, connection: ServerConnection | None, detail: str) -> None:
        """Record that a client broke platform rule ``rule`` (logged at WARNING)."""
        self.counters.violations += 1
        session = connection.id if connection else None
        system_id = connection.system_id if connection else None
        self.violations.append(Violation(rule, session, system_id, detail, self.now()))
        log.warning("violation %s session=%s system_id=%s: %s", rule, session, system_id, detail)

    def _later(self, delay: float, action: Callable[[], None]) -> None:
        assert self._loop is not None
        handles: list[asyncio.TimerHandle] = []

        def run() -> None:
            self._handles.difference_update(handles)
            action()

        handles.append(self._loop.call_later(delay, run))
        self._handles.update(handles)

    # ------------------------------------------------------------------ connections

    def connection_made(self, connection: ServerConnection) -> bool:
        now = self.now()
        self.counters.connections += 1
        peer = f"{connection.peer[0]}:{connection.peer[1]}" if connection.peer else "?"
        refusing = self.faults.refusing(now)
        if refusing or len(self.smsc.connections) >= self.config.max_connections:
            self.counters.refused_connections += 1
            reason = "refused (fault)" if refusing else "refused (too many)"
            if connection.peer:
                self._watch.failed((f"address:{connection.peer[0]}",), now)
            self._event(connection, "refused", f"{peer} {reason}")
            log.info("session %d from %s %s", connection.id, peer, reason)
            return False
        self._event(connection, "connect", peer)
        log.info("session %d connected from %s (%s)", connection.id, peer, _class_of(connection))
        return True

    def connection_lost(self, connection: ServerConnection) -> None:
        now = self.now()
        self.counters.disconnects += 1
        reason = connection.close_reason.value if connection.close_reason else "closed"
        system_id = connection.system_id
        if system_id is not None:
            self._watch.dropped(system_id, now)
        self._event(connection, "disconnect", reason)
        log.info("session %d (%s) closed: %s", connection.id, system_id or "not bound", reason)

    def peer_unbound(self, connection: ServerConnection) -> None:
        self._event(connection, "unbind", "client unbound")

    # ------------------------------------------------------------------ requests

    def request(self, connection: ServerConnection, pdu: Pdu) -> None:
        assert isinstance(connection, SmscConnection)
        connection.requests += 1
        faults = connection.faults_in_force
        if (
            faults is not NO_CONNECTION_FAULTS
            and faults.drop_after is not None
            and connection.requests >= faults.drop_after
        ):
            self._event(connection, "drop", f"drop_after {faults.drop_after} requests")
            connection.abort(CloseReason.POLICY)
            return
        match pdu:
            case SubmitSm():
                self._on_submit(connection, pdu)
            case QuerySm():
                self._on_query(connection, pdu)
            case DataSm():
                self._on_data_sm(connection, pdu)
            case SubmitMulti():
                self._on_submit_multi(connection, pdu)
            case CancelSm():
                self._on_cancel(connection, pdu)
            case ReplaceSm():
                self._on_replace(connection, pdu)
            case _:  # nothing else reaches us (the session's table), but answer every one
                connection.send_response(
                    pdu, GenericNack(command_status=CommandStatus.ESME_RINVCMDID)
                )
                self.protocol_error(connection, f"{type(pdu).__name__} -> generic_nack")

    def _respond(
        self, connection: SmscConnection, request: Pdu, response: Pdu, delay: float
    ) -> None:
        if not delay:
            connection.send_response(request, response)
            return

        # the session may have ended (unbind) while the answer was held: then none is sent
        self._later(delay, lambda: self.smsc.answer(connection, request, response))

    # ------------------------------------------------------------------ binds

    def bind(self, connection: ServerConnection, event: BindRequested) -> None:
        address = connection.peer[0] if connection.peer else "?"
        now = self.now()
        # failed binds count per system_id and address, as the platform does: guessing one
        # account's password from an address does not lock other accounts out of it
        key = _guard_key(event, address)
        if self._guard.locked(key, now):
            self._reject_bind(connection, event, CommandStatus.ESME_RBINDFAIL, "address locked out")
            return
        delay = self._guard.answer_delay(key, now)
        if delay:
            self._later(delay, lambda: self._decide_bind(connection, event))
        else:
            self._decide_bind(connection, event)

    def _decide_bind(self, connection: ServerConnection, event: BindRequested) -> None:
        if connection.session.closed or not connection.is_open:
            return
        cfg = self.config
        pdu = event.pdu
        now = self.now()
        address = connection.peer[0] if connection.peer else "?"
        system_id = str(getattr(pdu, "system_id", ""))
        password = str(getattr(pdu, "password", ""))
        connection.system_id = system_id or None
        account = self.accounts.get(system_id)
        failure: tuple[CommandStatus, str] | None = None
        if account is None:
            failure = (CommandStatus.ESME_RINVSYSID, "unknown system_id")
        elif not hmac.compare_digest(account.password.encode(), password.encode()):
            failure = (CommandStatus.ESME_RINVPASWD, "wrong password")
        if failure is not None:
            self._watch.failed((system_id, f"address:{address}"), now)
            if self._guard.failed(_guard_key(event, address), now):
                self._event(connection, "lockout", f"{system_id!r} from {address} locked out")
                log.warning("%r from address %s locked out after failed binds", system_id, address)
            self._reject_bind(connection, event, *failure)
            return
        assert account is not None
        refusal = self._bind_refusal(connection, pdu, account, now)
        if refusal is not None:
            self._watch.failed((system_id, f"address:{address}"), now)
            self._reject_bind(connection, event, *refusal)
            return
        self._guard.succeeded(_guard_key(event, address))
        if isinstance(connection, SmscConnection):
            connection.forget_faults()  # the account is known now
        self.counters.binds += 1
        self._event(connection, "bind", event.mode.value)
        log.info(
            "session %d bound %s as %s (%d of %d)",
            connection.id,
            system_id,
            event.mode.value,
            self.smsc.bound_count(system_id) + 1,
            account.max_sessions or cfg.max_sessions,
        )
        self.smsc.accept_bind(connection, event, system_id, cfg.system_id)

    def _bind_refusal(
        self, connection: ServerConnection, pdu: Pdu, account: Account, now: float
    ) -> tuple[CommandStatus, str] | None:
        """Why a bind with the right password is refused, or None: the bind parameters (D-03)
        and the bind rate (strict mode only), a reject_bind fault, the session limit (D-06)."""
        cfg = self.config
        system_id = connection.system_id or ""
        address = connection.peer[0] if connection.peer else "?"
        refuse: CommandStatus | None = None
        version = getattr(pdu, "interface_version", 0x34)
        system_type = getattr(pdu, "system_type", "")
        if version != 0x34 or system_type:
            self.violation(
                "D-03",
                connection,
                f"interface_version 0x{version:02X}, system_type {system_type!r} "
                "(expected 0x34 and empty)",
            )
            if cfg.strict:
                refuse = CommandStatus.ESME_RBINDFAIL
        for rule, detail in self._watch.check(system_id, address, now):
            self.violation(rule, connection, detail)
            if cfg.strict:
                refuse = CommandStatus.ESME_RBINDFAIL
        if refuse is not None:
            return refuse, "platform rule (strict)"
        fault_status = self.faults.bind_status(system_id)
        if fault_status is not None:
            return fault_status, "reject_bind fault"
        bound = self.smsc.bound_count(system_id)
        limit = account.max_sessions or cfg.max_sessions
        if bound >= limit:
            self.violation(
                "D-06", connection, f"bind {bound + 1} while {bound} are bound (max {limit})"
            )
            return cfg.session_limit_status, "session limit"
        return None

    def _reject_bind(
        self, connection: ServerConnection, event: BindRequested, status: CommandStatus, why: str
    ) -> None:
        self.counters.bind_failures += 1
        self._event(connection, "bind_failed", f"{status.name}: {why}")
        log.info(
            "session %d bind as %r refused: %s (%s)",
            connection.id,
            connection.system_id,
            status.name,
            why,
        )
        self.smsc.reject_bind(connection, event, status)

    # ------------------------------------------------------------------ submits

    def _judge(
        self,
        connection: SmscConnection,
        system_id: str,
        destination: str,
        content: bytes,
        now: float,
    ) -> tuple[CommandStatus, float]:
        """Fault rules and the retry checks (D-19, D-20, D-21) for one destination."""
        if connection.throttled_at is not None:
            self._check_throttle_pause(connection, now)
        key = (system_id, destination, content)
        self._check_resubmit(connection, key, now)
        status, delay = _OK, 0.0
        if self.faults.has_submit_rules:
            verdict = self.faults.judge_submit(SubmitFacts(system_id, destination, key, now))
            if verdict is not None:
                status, delay = verdict
        if status is _OK:
            if self._qfull:
                self._qfull.pop(key, None)
        else:
            self._remember_refusal(connection, key, status, now, delay)
        return status, delay

    def _check_throttle_pause(self, connection: SmscConnection, now: float) -> None:
        """D-20: after ESME_RTHROTTLED the connection sends nothing for ``throttle_pause``."""
        cfg = self.config
        assert connection.throttled_at is not None
        gap = now - connection.throttled_at
        if gap >= cfg.throttle_pause:
            connection.throttled_at = None
        elif gap >= cfg.throttle_grace:
            connection.throttled_at = None
            self.violation(
                "D-20",
                connection,
                f"submit {gap:.3f} s after ESME_RTHROTTLED (pause {cfg.throttle_pause:g} s)",
            )

    def _check_resubmit(self, connection: SmscConnection, key: _SubmitKey, now: float) -> None:
        """D-21 (queue full: 5 / 15 / 45 ... s apart, at most 5 times) and D-19 (an invalid
        destination is never sent again) for a message seen refused before."""
        destination = key[1]
        previous = self._qfull.get(key) if self._qfull else None
        if previous is not None:
            count, at = previous
            scale = self.config.qfull_pause_scale
            wanted = 5.0 * 3 ** (count - 1) * scale
            if now - at < wanted - _QFULL_TOLERANCE * scale:
                self.violation(
                    "D-21",
                    connection,
                    f"retry {count} of {destination} after {now - at:.2f} s "
                    f"(at least {wanted:g} s)",
                )
            if count > _MAX_QFULL_RETRIES:
                self.violation("D-21", connection, f"retry {count} of {destination} (at most 5)")
        if len(self._rejected_destinations) and key in self._rejected_destinations:
            self.violation(
                "D-19", connection, f"resubmitted to {destination} after ESME_RINVDSTADR"
            )

    def _remember_refusal(
        self,
        connection: SmscConnection,
        key: _SubmitKey,
        status: CommandStatus,
        now: float,
        delay: float,
    ) -> None:
        """What the retry checks need of a refusal answered after ``delay``."""
        if status is CommandStatus.ESME_RTHROTTLED:
            connection.throttled_at = now + delay
        elif status is CommandStatus.ESME_RMSGQFUL:
            count = self._qfull.pop(key, (0, 0.0))[0] + 1
            self._qfull[key] = (count, now + delay)
            self.watching = True
            if len(self._qfull) > 10_000:
                self._qfull.popitem(last=False)
        elif status is CommandStatus.ESME_RINVDSTADR:
            self._rejected_destinations[key] = now
            self.watching = True

    def _apply(self, connection: SmscConnection, findings: list[Finding]) -> CommandStatus:
        """Log the findings' violations; the status to answer with (OK when none applies)."""
        status = _OK
        strict = self.config.strict
        for finding in findings:
            if finding.rule is not None:
                self.violation(finding.rule, connection, finding.detail)
            if status is _OK and (strict or not finding.strict_only):
                status = finding.status
        return status

    def _on_submit(self, connection: SmscConnection, pdu: SubmitSm) -> None:
        now = self.now()
        counters = self.counters
        counters.submits += 1
        system_id = _account_of(connection)
        destination = pdu.destination_addr
        rules = self.address_rules
        forced: DeliveryState | None = None
        content: Content | None = None
        if (
            pdu.source_addr_ton in rules.source_ton
            and pdu.source_addr_npi in rules.source_npi
            and pdu.dest_addr_ton in rules.dest_ton
            and pdu.dest_addr_npi in rules.dest_npi
            and destination.isdigit()
            and destination.isascii()
            and not pdu.tlvs
            and not pdu.esm_class & _UDHI
            and not pdu.validity_period
            and len(pdu.short_message) <= 140
            and pdu.short_message[:3] != b"\x05\x00\x03"
        ):
            status = _OK  # the common case: nothing to check further
        else:
            findings = check_addresses(
                rules,
                pdu.source_addr_ton,
                pdu.source_addr_npi,
                pdu.dest_addr_ton,
                pdu.dest_addr_npi,
                destination,
            )
            content, more = check_content(
                pdu.esm_class, pdu.data_coding, pdu.short_message, pdu.tlvs
            )
            findings += more
            if pdu.validity_period:
                found = check_validity(
                    pdu.validity_period, self.wall(now), self.config.min_validity
                )
                if (
                    found
                    and found[0].rule == "D-22"
                    and (self.config.short_validity is ShortValidity.EXPIRE)
                ):
                    self.violation("D-22", connection, found[0].detail + " (accepted, will expire)")
                    forced = DeliveryState.EXPIRED
                else:
                    findings += found
            status = self._apply(connection, findings)
        delay = 0.0
        if status is _OK and (
            self.faults.has_submit_rules
            or connection.throttled_at is not None
            or self._qfull
            or len(self._rejected_destinations)
        ):
            status, delay = self._judge(
                connection,
                system_id,
                destination,
                pdu.short_message or (content.text if content else b""),
                now,
            )
        if status is _OK:
            # only an accepted part is billed and counted toward reassembling its message
            if content is None:
                counters.billed_segments += 1
            else:
                self._note_content(connection, system_id, pdu, content, now)
            number, message_id = self.ids.next()
            record = SubmitRecord(
                now,
                system_id,
                connection.id,
                connection.traffic_class,
                message_id,
                _OK,
                encode(pdu, pdu.sequence_number),
                number,
            )
            self.accepted(record)
            if pdu.registered_delivery & _RECEIPT_WANTED and self.config.dlr_enabled:
                self.schedule(now + delay, message_id, destination, forced)
            elif forced is not None:
                self._states[message_id] = MessageStatus(forced, now, ERROR_CODES[forced])
            self._respond(connection, pdu, SubmitSmResp(message_id=message_id), delay)
            return
        counters.submit_errors += 1
        if self._record_submits:
            self.records.append(
                SubmitRecord(
                    now,
                    system_id,
                    connection.id,
                    connection.traffic_class,
                    "",
                    status,
                    encode(pdu, pdu.sequence_number),
                )
            )
        self._respond(connection, pdu, SubmitSmResp(command_status=status), delay)

    def _note_content(
        self,
        connection: SmscConnection,
        system_id: str,
        pdu: SubmitSm | DataSm,
        content: Content | None,
        now: float,
    ) -> None:
        """Billing for message_payload (D-15), D-18 and reassembly for concatenated parts."""
        if content is None:
            return
        if content.payload:
            self.counters.billed_segments += billed_segments(
                content.text, pdu.data_coding, self._alphabet(system_id)
            )
            return
        self.counters.billed_segments += 1
        if content.reference is None:
            return
        group = (pdu.source_addr, pdu.destination_addr, content.reference, content.total)
        open_group = self._groups.get(group)
        seen: frozenset[int] = frozenset()
        if open_group is not None:
            owner, seen = open_group
            if owner != system_id:
                self.violation(
                    "D-18",
                    connection,
                    f"part {content.seqnum}/{content.total} of reference {content.reference} "
                    f"continues a message of {owner!r}",
                )
        seen = seen | {content.seqnum}
        if len(seen) >= content.total:
            self._groups.pop(group, None)
        else:
            self._groups[group] = (system_id, seen)
        for message in self._reassembler.feed(
            source=pdu.source_addr,
            destination=pdu.destination_addr,
            reference=content.reference,
            total=content.total,
            seqnum=content.seqnum,
            payload=content.text,
            data_coding=pdu.data_coding,
            now=now,
            account=system_id,
        ) + self._reassembler.expire(now):
            self.assembled.append(message)

    def _on_data_sm(self, connection: SmscConnection, pdu: DataSm) -> None:
        now = self.now()
        self.counters.submits += 1
        system_id = _account_of(connection)
        findings = check_addresses(
            self.address_rules,
            pdu.source_addr_ton,
            pdu.source_addr_npi,
            pdu.dest_addr_ton,
            pdu.dest_addr_npi,
            pdu.destination_addr,
        )
        content, more = check_content(pdu.esm_class, pdu.data_coding, b"", pdu.tlvs)
        status = self._apply(connection, findings + more)
        delay = 0.0
        if status is _OK:
            status, delay = self._judge(
                connection, system_id, pdu.destination_addr, content.text, now
            )
        if status is not _OK:
            self.counters.submit_errors += 1
            self._respond(connection, pdu, DataSmResp(command_status=status), delay)
            return
        self._note_content(connection, system_id, pdu, content, now)
        number, message_id = self.ids.next()
        record = SubmitRecord(
            now,
            system_id,
            connection.id,
            connection.traffic_class,
            message_id,
            _OK,
            encode(pdu, pdu.sequence_number),
            number,
        )
        self.accepted(record)
        if pdu.registered_delivery & _RECEIPT_WANTED and self.config.dlr_enabled:
            self.schedule(now + delay, message_id, pdu.destination_addr, None)
        self._respond(connection, pdu, DataSmResp(message_id=message_id), delay)

    def _on_submit_multi(self, connection: SmscConnection, pdu: SubmitMulti) -> None:
        now = self.now()
        self.counters.submits += 1
        system_id = _account_of(connection)
        rules = self.address_rules
        findings = check_source(rules, pdu.source_addr_ton, pdu.source_addr_npi)
        _, more = check_content(pdu.esm_class, pdu.data_coding, pdu.short_message, pdu.tlvs)
        status = self._apply(connection, findings + more)
        if status is not _OK or not pdu.dest_addresses:
            self.counters.submit_errors += 1
            status = status if status is not _OK else CommandStatus.ESME_RINVNUMDESTS
            self._respond(connection, pdu, SubmitMultiResp(command_status=status), 0.0)
            return
        accepted: list[str] = []
        failed: list[UnsuccessSme] = []
        delay = 0.0
        for dest in pdu.dest_addresses:
            if dest.dl_name is not None:
                failed.append(UnsuccessSme(error_status_code=CommandStatus.ESME_RINVDLNAME))
                continue
            error = self._apply(
                connection,
                check_destination(
                    rules, dest.dest_addr_ton, dest.dest_addr_npi, dest.destination_addr
                ),
            )
            if error is _OK:
                error, held = self._judge(
                    connection, system_id, dest.destination_addr, pdu.short_message, now
                )
                delay = max(delay, held)
            if error is _OK:
                accepted.append(dest.destination_addr)
            else:
                failed.append(
                    UnsuccessSme(
                        dest.dest_addr_ton, dest.dest_addr_npi, dest.destination_addr, error
                    )
                )
        if not accepted:
            self.counters.submit_errors += 1
            status = CommandStatus(failed[0].error_status_code) if failed else _OK
            self._respond(connection, pdu, SubmitMultiResp(command_status=status), delay)
            return
        number, message_id = self.ids.next()
        record = SubmitRecord(
            now,
            system_id,
            connection.id,
            connection.traffic_class,
            message_id,
            _OK,
            encode(pdu, pdu.sequence_number),
            number,
        )
        self.accepted(record)
        if pdu.registered_delivery & _RECEIPT_WANTED and self.config.dlr_enabled:
            for destination in accepted:
                self.schedule(now + delay, message_id, destination, None)
        self._respond(
            connection,
            pdu,
            SubmitMultiResp(message_id=message_id, unsuccess_sme=tuple(failed)),
            delay,
        )

    # ------------------------------------------------------------------ query, cancel, replace

    def _current_state(self, message_id: str, record: SubmitRecord, now: float) -> MessageStatus:
        status = self._states.get(message_id)
        if status is not None:
            return status
        if now < record.at + self.config.dlr_delay:
            return MessageStatus(DeliveryState.ENROUTE, 0.0)
        state = self.config.dlr_outcomes.choose(self._rng)
        status = MessageStatus(state, record.at + self.config.dlr_delay, ERROR_CODES[state])
        self._states[message_id] = status
        return status

    def _own(self, connection: SmscConnection, message_id: str) -> SubmitRecord | None:
        record = self.book.get(message_id)
        if record is None or record.system_id != connection.system_id:
            return None
        return record

    def _on_query(self, connection: SmscConnection, pdu: QuerySm) -> None:
        self.counters.queries += 1
        record = self._own(connection, pdu.message_id)
        if record is None:
            connection.send_response(pdu, QuerySmResp(command_status=CommandStatus.ESME_RQUERYFAIL))
            return
        status = self._current_state(pdu.message_id, record, self.now())
        final_date = ""
        if status.state.is_final:
            final_date = self.wall(status.done_at).strftime("%y%m%d%H%M%S") + "000+"
        connection.send_response(
            pdu,
            QuerySmResp(
                message_id=pdu.message_id,
                final_date=final_date,
                message_state=int(status.state),
                error_code=status.error,
            ),
        )

    def _on_cancel(self, connection: SmscConnection, pdu: CancelSm) -> None:
        record = self._own(connection, pdu.message_id)
        now = self.now()
        if record is None or self._current_state(pdu.message_id, record, now).state.is_final:
            connection.send_response(
                pdu, CancelSmResp(command_status=CommandStatus.ESME_RCANCELFAIL)
            )
            return
        self._states[pdu.message_id] = MessageStatus(
            DeliveryState.DELETED, now, ERROR_CODES[DeliveryState.DELETED]
        )
        connection.send_response(pdu, CancelSmResp())

    def _on_replace(self, connection: SmscConnection, pdu: ReplaceSm) -> None:
        record = self._own(connection, pdu.message_id)
        now = self.now()
        if (
            record is None
            or not isinstance(record.pdu, SubmitSm)
            or self._current_state(pdu.message_id, record, now).state.is_final
        ):
            connection.send_response(
                pdu, ReplaceSmResp(command_status=CommandStatus.ESME_RREPLACEFAIL)
            )
            return
        replaced = record.pdu._replace(short_message=pdu.short_message)
        self.book[pdu.message_id] = record._replace(
            frame=encode(replaced, replaced.sequence_number)
        )
        connection.send_response(pdu, ReplaceSmResp())

    # ------------------------------------------------------------------ receipts

    def accepted(self, record: SubmitRecord) -> None:
        """An accepted submit goes into the message book (and the submit log)."""
        self.book[record.message_id] = record
        if self._record_submits:
            self.records.append(record)

    def schedule(
        self, at: float, message_id: str, destination: str, forced: DeliveryState | None
    ) -> None:
        """A receipt for ``message_id`` to ``destination``, due ``dlr_delay`` after ``at``."""
        due = self._due
        due.append(_new_due(_Due, (at + self.config.dlr_delay, message_id, destination, forced)))
        if self._due_timer is None:
            self._arm_due(self.now())

    def _arm_due(self, now: float) -> None:
        if not self._due or self._closed:
            self._due_timer = None
            return
        assert self._loop is not None
        self._due_timer = self._loop.call_later(max(0.0, self._due[0].at - now), self._on_due)

    def _on_due(self) -> None:
        now = self.now()
        due = self._due
        if due and due[0].at <= now:
            # every receipt due now is built first, then handed over per account in one go:
            # the server picks the receivers once for the lot
            batch: list[tuple[str, PlatformDelivery]] = []
            receipt = self._receipt
            while due and due[0].at <= now:
                built = receipt(due.popleft(), now)
                if built is not None:
                    batch.append(built)
            deliver = self.smsc.deliver_all
            start = 0
            for i in range(1, len(batch) + 1):
                if i == len(batch) or batch[i][0] != batch[start][0]:
                    deliver(batch[start][0], [delivery for _, delivery in batch[start:i]])
                    start = i
        self._arm_due(now)

    def _receipt(self, item: _Due, now: float) -> tuple[str, PlatformDelivery] | None:
        """The receipt due for ``item`` (and the account it goes to), or None when none is
        sent (a forgotten or cancelled message, a receipt wanted on failure only)."""
        record = self.book.get(item.message_id)
        if record is None:
            return None  # forgotten (bounded book)
        status = self._states.get(item.message_id)
        if status is None:
            state = item.forced or self.config.dlr_outcomes.choose(self._rng)
            status = MessageStatus(state, now, ERROR_CODES[state])
            self._states[item.message_id] = status
        elif status.state is DeliveryState.DELETED:
            return None  # cancelled: no receipt
        fields = _receipt_fields(record)
        if fields is None:
            return None  # the book holds only submit_sm, data_sm and submit_multi
        if (
            fields.registered_delivery & _RECEIPT_WANTED == _RECEIPT_ON_FAILURE
            and status.state is DeliveryState.DELIVERED
        ):
            return None  # receipt on failure only
        short_message = fields.short_message
        udh = short_message[0] + 1 if fields.esm_class & _UDHI and short_message else 0
        alphabet = self._alphabet(record.system_id)
        text = message_text(short_message[:200], fields.data_coding, udh, alphabet)[:20]
        offset = self._wall_offset
        dates = self._receipt_dates
        receipt = receipt_deliver_sm(
            receipt_id=self.ids.for_receipt(record.number, item.message_id, self._receipt_ids),
            state=status.state,
            error=status.error,
            submitted=dates.text(record.at + offset),
            done=dates.text(status.done_at + offset),
            text=text,
            source_ton=fields.source_ton,
            source_npi=fields.source_npi,
            source=fields.source,
            destination=item.destination,
        )
        return record.system_id, PlatformDelivery(receipt, "receipt", None)

    # ------------------------------------------------------------------ delivery to receivers

    def delivery_queued(self, system_id: str, delivery: Delivery) -> None:
        self.counters.receipts_queued += 1

    def delivery_sent(self, connection: ServerConnection, delivery: Delivery) -> None:
        if isinstance(delivery, PlatformDelivery) and delivery.kind == "receipt":
            self.counters.receipts_sent += 1

    def delivery_dropped(self, system_id: str, delivery: Delivery) -> None:
        self.counters.receipts_dropped += 1
        _finish(delivery, CommandStatus.ESME_RMSGQFUL)

    def delivery_answered(
        self, connection: ServerConnection, delivery: Delivery, response: Pdu
    ) -> None:
        if isinstance(response, GenericNack):
            self.unexpected_response(connection, response)
            return
        if response.command_status == 0:  # the common answer: no enum to look up
            if self._record_submits:
                self.answered.append(delivery.pdu)
            _finish(delivery, _OK)
            return
        status = CommandStatus(response.command_status)
        if status is not _OK:
            self.counters.deliver_errors += 1
            self.violation(
                "D-10",
                connection,
                f"{type(response).__name__} with status {status.name} (must always be ESME_ROK)",
            )
        _finish(delivery, status)

    def delivery_timed_out(
        self, connection: ServerConnection, delivery: Delivery, sequence_number: int
    ) -> None:
        self.violation(
            "D-10",
            connection,
            f"no deliver_sm_resp for seq {sequence_number} within "
            f"{self.config.deliver_timeout:g} s",
        )
        _finish(delivery, CommandStatus.ESME_RUNKNOWNERR)

    def unexpected_response(self, connection: ServerConnection, pdu: Pdu) -> None:
        if not isinstance(pdu, GenericNack):
            self._event(connection, "unexpected_response", type(pdu).__name__)
            return
        self.violation(
            "D-11",
            connection,
            f"generic_nack (status {CommandStatus(pdu.command_status).name}, "
            f"seq {pdu.sequence_number}): unbinding",
        )
        if connection.session.state.is_bound:
            connection.run(lambda session, now: session.unbind(now))
        else:
            connection.close(CloseReason.POLICY)

    def _check_enquire_link(self, connection: SmscConnection, now: float) -> None:
        idle = now - connection.last_write
        if idle < self.config.enquire_link_idle - 1.0:
            self.violation(
                "D-12",
                connection,
                f"enquire_link {idle:.1f} s after our last PDU "
                f"(only after {self.config.enquire_link_idle:g} s of silence)",
            )


def _receipt_fields(record: SubmitRecord) -> ReceiptFields | None:
    """What the receipt of ``record`` is built from: read from the frame of a plain
    submit_sm, else from the decoded PDU (message_payload for the text when short_message
    is empty); None for anything that is not a submit."""
    fields = receipt_fields(record.frame)
    if fields is not None:
        return fields
    pdu = record.pdu
    if not isinstance(pdu, SubmitSm | DataSm | SubmitMulti):
        return None
    short_message = b"" if isinstance(pdu, DataSm) else pdu.short_message
    if not short_message:
        for tlv in pdu.tlvs:
            if tlv.tag == TlvTag.MESSAGE_PAYLOAD:
                short_message = tlv.value
    return ReceiptFields(
        pdu.source_addr_ton,
        pdu.source_addr_npi,
        pdu.source_addr,
        pdu.esm_class,
        pdu.registered_delivery,
        pdu.data_coding,
        short_message,
    )


def _finish(delivery: Delivery, status: CommandStatus) -> None:
    """Tell whoever awaits the delivery (an injected MO) how it was answered."""
    done = delivery.done if isinstance(delivery, PlatformDelivery) else None
    if done is not None and not done.done():
        done.set_result(status)


def _account_of(connection: SmscConnection) -> str:
    """The account a request came on (the session's table admits requests only once bound)."""
    system_id = connection.system_id
    assert system_id is not None
    return system_id


def _class_of(connection: ServerConnection) -> str:
    return connection.traffic_class if isinstance(connection, SmscConnection) else "?"


def _guard_key(event: BindRequested, address: str) -> str:
    """What failed binds are counted by: the system_id asked for, at the peer's address."""
    return guard_key(str(getattr(event.pdu, "system_id", "")), address)
