"""What goes into the store and what comes out: closed vocabularies and frozen records.

These are the store's own types. They name no SMPP session or PDU class: a command_status is a
plain int with its name beside it as text, so the store does not depend on `smppgate.pdu`.
Times are float seconds since the epoch, always passed in by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class MessageState(StrEnum):
    """The lifecycle of one outbound message (see `lifecycle.py` for the rule)."""

    #: waiting for its send time (``send_at``, or the end of a quiet-hours window); moved to
    #: `queued` when due (store/schedule.py), never claimed before
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SUBMITTED = "submitted"
    DELIVERED = "delivered"
    UNDELIVERABLE = "undeliverable"
    EXPIRED = "expired"
    REJECTED = "rejected"
    FAILED = "failed"
    UNKNOWN = "unknown"
    #: never sent: its destination is on its account's blocklist (store/blocklist.py)
    BLOCKED = "blocked"
    #: cancelled while still queued or scheduled (``DELETE /v1/messages/{id}``, cancel_sm):
    #: nothing of it was sent
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self not in _OPEN_STATES


_OPEN_STATES = frozenset(
    {MessageState.SCHEDULED, MessageState.QUEUED, MessageState.SENDING, MessageState.SUBMITTED}
)


class PartStatus(StrEnum):
    """Where one part stands towards the SMSC.

    `planned`: no submit_sm for it may have left this process (safe to send again).
    `sent`: a submit_sm may be on the wire and no response is recorded yet.
    `accepted`: submit_sm_resp with status 0 and a message id.
    `failed` / `rejected`: a permanent error (rejected = the SMSC refused the message itself,
    e.g. an invalid destination; failed = any other permanent error or retries exhausted).
    `unknown`: a submit_sm went out and its response never came.
    """

    PLANNED = "planned"
    SENT = "sent"
    ACCEPTED = "accepted"
    FAILED = "failed"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


class ReceiptState(StrEnum):
    """The `stat:` of a delivery receipt (SMPP 3.4 appendix B), named for humans."""

    DELIVERED = "delivered"
    EXPIRED = "expired"
    DELETED = "deleted"
    UNDELIVERABLE = "undeliverable"
    ACCEPTED = "accepted"
    UNKNOWN = "unknown"
    REJECTED = "rejected"
    ENROUTE = "enroute"

    @classmethod
    def from_stat(cls, stat: str) -> ReceiptState:
        """Map the receipt text's `stat:` value (`DELIVRD`, `UNDELIV`, ...) to a state."""
        return _STAT_NAMES.get(stat.strip().upper(), ReceiptState.UNKNOWN)

    @property
    def is_final(self) -> bool:
        return self not in (ReceiptState.ACCEPTED, ReceiptState.ENROUTE)


_STAT_NAMES = {
    "DELIVRD": ReceiptState.DELIVERED,
    "EXPIRED": ReceiptState.EXPIRED,
    "DELETED": ReceiptState.DELETED,
    "UNDELIV": ReceiptState.UNDELIVERABLE,
    "ACCEPTD": ReceiptState.ACCEPTED,
    "UNKNOWN": ReceiptState.UNKNOWN,
    "REJECTD": ReceiptState.REJECTED,
    "ENROUTE": ReceiptState.ENROUTE,
}


class RequeueReason(StrEnum):
    """Why a message goes back to the queue; `queue_full` and `throttled` have own counters."""

    THROTTLED = "throttled"
    QUEUE_FULL = "queue_full"
    TRANSIENT = "transient"
    SESSION_LOST = "session_lost"
    RELEASED = "released"
    #: written, but the SMSC's TCP never acknowledged it (the link went dark): it cannot
    #: have it (issue 20)
    NOT_RECEIVED = "not_received"


class WebhookState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    GAVE_UP = "gave_up"


class DropKind(StrEnum):
    """What happened to a connection: `drop` (60 s cooldown) or `failed` attempt (90 s)."""

    DROP = "drop"
    FAILED = "failed"


#: The platform's reconnect rule (Devino, "How the interaction works", point 4).
COOLDOWN_SECONDS: dict[DropKind, float] = {DropKind.DROP: 60.0, DropKind.FAILED: 90.0}


# ---------------------------------------------------------------------------- what goes in


@dataclass(frozen=True, slots=True)
class PlannedPart:
    """One submit_sm as planned by the splitter; persisted so that a retry resends these bytes.

    `sar_*` are all set (the SAR method) or all None (UDH inside `short_message`, or one part).
    `message_payload` is set instead of `short_message` bytes for payload sends.
    """

    seq: int
    short_message: bytes
    esm_class: int = 0
    data_coding: int = 0
    sar_ref: int | None = None
    sar_total: int | None = None
    sar_seq: int | None = None
    message_payload: bytes | None = None

    def __post_init__(self) -> None:
        # plain comparisons, no generators: this runs for every part at intake
        if self.seq < 1:
            raise ValueError(f"part seq starts at 1, got {self.seq}")
        if not (self.sar_ref is None) == (self.sar_total is None) == (self.sar_seq is None):
            raise ValueError("sar_ref, sar_total and sar_seq are all set or all None")


#: message priorities: a claim takes the due messages of the highest one first
MAX_PRIORITY = 9


@dataclass(frozen=True, slots=True)
class SmppOrigin:
    """A message an application submitted through the SMPP front door: its user, and the
    registered_delivery it asked for (bits 0-1: 1 every final receipt, 2 on failure only)."""

    system_id: str
    registered_delivery: int = 0
    split: bool = False
    """The application split the message itself: it holds an id per part
    (``store.smpp_parts.part_id``), and gets a receipt per part."""


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message accepted for sending.

    Idempotency: `idempotency_key` is unique within `idempotency_scope` (the API passes the id
    of the API key, so two clients never collide; the empty scope is shared by every caller
    that passes none, e.g. the CLI). Inserting a message whose (scope, key) exists returns the
    first message instead.
    `id` may be given (to know it before the insert); otherwise the store makes one.
    `not_before`: the first attempt is not made before this time (default: the insert's now);
    a time after the insert's now stores the message `scheduled`.
    """

    account: str
    source: str
    destination: str
    text: str
    parts: tuple[PlannedPart, ...]
    encoding: str = "gsm7"
    split_method: str = "udh"
    validity_seconds: int | None = None
    callback_url: str | None = None
    client_reference: str | None = None
    resend_unknown: bool = False
    traffic_class: str | None = None
    priority: int = 0  # 0..MAX_PRIORITY: claimed before lower ones
    idempotency_key: str | None = None
    idempotency_scope: str = ""
    id: str | None = None
    not_before: float | None = None
    ussd_service_op: int | None = None
    """USSD: the ussd_service_op TLV (None: an ordinary SMS)."""
    its_session_info: bytes | None = None
    """USSD: the its_session_info TLV, 2 octets."""
    origin: SmppOrigin | None = None
    """Submitted by an application over SMPP: its receipt goes to the front door's outbox."""
    client: str | None = None
    """The API client that queued it (the config's name; None: unrecorded)."""

    def __post_init__(self) -> None:
        parts = self.parts
        if not parts:
            raise ValueError("a message has at least one part")
        expected = 1
        for part in parts:
            if part.seq != expected:
                seqs = [p.seq for p in parts]
                raise ValueError(f"part seqs must be 1..n in order, got {seqs}")
            expected += 1
        if self.validity_seconds is not None and self.validity_seconds < 0:
            raise ValueError("validity_seconds cannot be negative")


@dataclass(frozen=True, slots=True)
class Quota:
    """A client's daily quota, counted in the transaction that inserts its messages: the
    insert fails with `QuotaExceeded` (and stores nothing) when the messages it creates would
    take ``client``'s count for ``day`` (a UTC date, ``2026-01-31``) above ``limit``."""

    client: str
    day: str
    limit: int


@dataclass(frozen=True, slots=True)
class SubmitContext:
    """Where an attempt happened: which node, session and host (all free text)."""

    node_id: str = ""
    session_id: str = ""
    host: str = ""


@dataclass(frozen=True, slots=True)
class PartAccepted:
    """submit_sm_resp OK for one part: its raw id and the normalised keys receipts match on."""

    message_id: str
    seq: int
    smsc_message_id: str
    match_keys: frozenset[str]
    at: float
    context: SubmitContext = SubmitContext()


@dataclass(frozen=True, slots=True)
class PartFailed:
    """A permanent error for one part: the message ends (`rejected` or `failed`)."""

    message_id: str
    seq: int
    command_status: int | None
    status_name: str
    at: float
    rejected: bool = False
    context: SubmitContext = SubmitContext()


@dataclass(frozen=True, slots=True)
class Requeue:
    """Back to the queue at `next_attempt_at` (the caller computes it: 1 s throttle pause,
    5/15/45 s for queue full, the back of the queue). Parts not accepted go back to planned.
    `seq` names the part that got the error, for the attempt history."""

    message_id: str
    next_attempt_at: float
    reason: RequeueReason
    at: float
    seq: int | None = None
    command_status: int | None = None
    status_name: str = ""
    context: SubmitContext = SubmitContext()


@dataclass(frozen=True, slots=True)
class MarkUnknown:
    """No response came for these parts' submit_sm. They become `unknown` (the message ends
    `unknown`), unless the message has resend_unknown: then they are planned again and the
    message is queued at `retry_at` (default: `at`)."""

    message_id: str
    seqs: tuple[int, ...]
    at: float
    retry_at: float | None = None
    context: SubmitContext = SubmitContext()


Outcome = PartAccepted | PartFailed | Requeue | MarkUnknown


@dataclass(frozen=True, slots=True)
class NewReceipt:
    """A delivery receipt as received; `keys` are the normalised forms of its message id."""

    keys: frozenset[str]
    raw: str
    state: ReceiptState
    received_at: float
    error_code: str | None = None
    account: str | None = None


@dataclass(frozen=True, slots=True)
class NewInbound:
    """An MO message or USSD request received (after reassembly)."""

    account: str
    source: str
    destination: str
    text: str
    data_coding: int
    received_at: float
    ussd_service_op: int | None = None
    parts_info: str = ""
    #: an opt-out / opt-in keyword: applied to the account's blocklist with the MO
    opt: OptKeyword | None = None


# ------------------------------------------------------------------------- the blocklist
# (store/blocklist.py)


class BlockSource(StrEnum):
    """How an entry came to be."""

    API = "api"
    CLI = "cli"
    IMPORT = "import"
    #: an MO opt-out keyword from the number itself
    KEYWORD = "keyword"


class OptAction(StrEnum):
    """What an MO keyword asks for."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"


@dataclass(frozen=True, slots=True)
class NewBlock:
    account: str
    number: str
    source: BlockSource
    reason: str | None = None
    #: who: the API client's name, ``cli``, or ``inbound:<id>`` for a keyword
    added_by: str | None = None


@dataclass(frozen=True, slots=True)
class BlockEntry:
    id: int
    account: str
    number: str
    source: BlockSource
    reason: str | None
    added_by: str | None
    created_at: float


@dataclass(frozen=True, slots=True)
class BlockResult:
    """``created`` False: the number was listed already (an operator's add over a keyword's
    entry makes it the operator's: ``entry`` is the entry as it is now)."""

    entry: BlockEntry
    created: bool


@dataclass(frozen=True, slots=True)
class BlocklistPage:
    """Entries in id order; pass ``next_cursor`` as ``after`` for the next page."""

    items: tuple[BlockEntry, ...]
    next_cursor: int | None = None


@dataclass(frozen=True, slots=True)
class OptKeyword:
    """An MO recognised as an opt-out or opt-in keyword (set on `NewInbound` by the service,
    for a multi-part MO by the ``assemble`` the store calls with its last part): the store
    applies it in the transaction that records the MO (`inbound.insert_inbound`)."""

    action: OptAction
    keyword: str
    #: the sender as the blocklist keys it
    number: str


@dataclass(frozen=True, slots=True)
class OptChange:
    """What an opt keyword did: ``changed`` (an entry was added or removed) and ``blocked``
    (the number is listed now: after an opt-in, an operator's block stays)."""

    action: OptAction
    account: str
    number: str
    keyword: str
    inbound_id: int
    changed: bool
    blocked: bool
    at: float


# --------------------------------------------------------------------------- what comes out


@dataclass(frozen=True, slots=True)
class StoredPart:
    seq: int
    short_message: bytes
    esm_class: int
    data_coding: int
    sar_ref: int | None
    sar_total: int | None
    sar_seq: int | None
    message_payload: bytes | None
    status: PartStatus
    attempts: int
    smsc_message_id: str | None
    sent_at: float | None
    submitted_at: float | None
    receipt_state: ReceiptState | None
    receipt_at: float | None
    error_code: str | None
    last_status: int | None
    last_status_name: str | None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: str
    account: str
    source: str
    destination: str
    text: str
    encoding: str
    split_method: str
    validity_seconds: int | None
    callback_url: str | None
    client_reference: str | None
    resend_unknown: bool
    traffic_class: str | None
    priority: int
    idempotency_key: str | None
    idempotency_scope: str
    state: MessageState
    created_at: float
    updated_at: float
    next_attempt_at: float
    attempts: int
    qfull_retries: int
    throttled_retries: int
    last_status: int | None
    last_status_name: str | None
    part_count: int
    leased_by: str | None
    lease_until: float | None
    parts: tuple[StoredPart, ...] = ()
    ussd_service_op: int | None = None
    its_session_info: bytes | None = None
    client: str | None = None

    @property
    def uses_payload(self) -> bool:
        return any(p.message_payload is not None for p in self.parts)


@dataclass(frozen=True, slots=True)
class InsertResult:
    """`created` is False when an idempotency key returned an earlier message."""

    message: StoredMessage
    created: bool


@dataclass(frozen=True, slots=True)
class Attempt:
    message_id: str
    seq: int | None
    at: float
    node_id: str
    session_id: str
    host: str
    command_status: int | None
    status_name: str | None
    outcome: str


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    id: int
    message_id: str
    seq: int
    state: ReceiptState
    raw: str
    received_at: float
    error_code: str | None


@dataclass(frozen=True, slots=True)
class MessageDetail:
    message: StoredMessage
    attempts: tuple[Attempt, ...]
    receipts: tuple[ReceiptRecord, ...]


@dataclass(frozen=True, slots=True)
class ReceiptMatch:
    """A receipt found its part; `state_changed` says whether the message state moved."""

    message_id: str
    seq: int
    receipt_state: ReceiptState
    message_state: MessageState
    state_changed: bool
    callback_url: str | None
    client_reference: str | None
    #: when the part's submit_sm_resp was recorded (None: unknown), for receipt latency
    submitted_at: float | None = None


@dataclass(frozen=True, slots=True)
class UnmatchedReceipt:
    id: int
    keys: frozenset[str]
    raw: str
    state: ReceiptState
    received_at: float
    error_code: str | None
    account: str | None


@dataclass(frozen=True, slots=True)
class OutcomeResult:
    message_id: str
    state: MessageState
    #: receipts that had arrived before this part's id was recorded, now matched
    late_matches: tuple[ReceiptMatch, ...] = ()


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    requeued: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InboundMessage:
    id: int
    account: str
    source: str
    destination: str
    text: str
    data_coding: int
    received_at: float
    ussd_service_op: int | None
    parts_info: str


@dataclass(frozen=True, slots=True)
class WebhookJob:
    id: int
    url: str
    payload: str
    event: str
    message_id: str | None
    state: WebhookState
    attempts: int
    next_attempt_at: float
    created_at: float
    last_error: str | None
    leased_by: str | None = None
    lease_until: float | None = None


@dataclass(frozen=True, slots=True)
class MessagePage:
    """One page of a listing; pass `next_cursor` as `after` to get the next page."""

    items: tuple[StoredMessage, ...]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class SessionSlot:
    system_id: str
    slot: int
    node_id: str
    lease_until: float


@dataclass(frozen=True, slots=True)
class SmppReceipt:
    """A receipt waiting in the front door's outbox for its application (``system_id``)."""

    id: int
    system_id: str
    message_id: str
    """The id the application holds: the message's, or a part's when it split it itself."""
    state: ReceiptState
    error_code: str | None
    done_at: float
    submitted_at: float
    source: str
    destination: str
    text: str


@dataclass(frozen=True, slots=True)
class NewWebhook:
    """An outbox job to add in the transaction that caused it."""

    url: str
    payload: str
    event: str
    message_id: str | None


class Notifier(Protocol):
    """Decides the webhooks of store events, *inside* the transaction that records them, so
    that an event and its webhook commit together (a crash between the two loses none).

    Pure decisions, no I/O: the store loads what they need and inserts what they return.
    """

    def wants_status(self, account: str, callback_url: str | None) -> bool:
        """Does a status change of a message of ``account`` (with this ``callback_url``) get a
        webhook? (Cheap: asked before the message is loaded.)"""
        ...

    def status_job(
        self, message: StoredMessage, receipts: Sequence[ReceiptRecord], now: float
    ) -> NewWebhook | None:
        """The ``message.status`` job for a message whose receipt or final state was recorded
        (``receipts``: its receipts, in the order recorded)."""
        ...

    def inbound_job(self, inbound: InboundMessage, now: float) -> NewWebhook | None:
        """The job for an MO or USSD message just recorded."""
        ...

    def opt_job(self, change: OptChange, now: float) -> NewWebhook | None:
        """The job for an opt-out / opt-in keyword an MO carried (see `OptKeyword`)."""
        ...


class MoRouter(Protocol):
    """Decides which SMPP front door application an MO or USSD message is routed to, inside the
    transaction that records it: a single message and a multi-part one reassembled by the store
    (`mo_parts`) alike. Pure, no I/O."""

    def smpp_user(self, inbound: NewInbound) -> str | None:
        """The application (``system_id``) ``inbound`` goes to; None: the HTTP API and
        webhooks only."""
        ...
