"""The `Store` contract: what the gateway may ask of the durable store, on any backend.

Every method is one transaction: it commits before it returns, or raises a `StoreError` and
changes nothing. Every time is a float epoch passed in by the caller (`now`, `at`); the store
never reads the clock for a decision. Batch methods (`insert_messages`, `record_outcomes`,
`record_receipts`, `mark_parts_sent`) do all their items in one transaction: use them on hot
paths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Protocol, runtime_checkable

from smppgate.store.mo_parts import Assemble, NewMoPart
from smppgate.store.models import (
    BlockEntry,
    BlocklistPage,
    BlockResult,
    DropKind,
    InboundMessage,
    InsertResult,
    MessageDetail,
    MessagePage,
    MessageState,
    MoRouter,
    NewBlock,
    NewInbound,
    NewMessage,
    NewReceipt,
    Notifier,
    Outcome,
    OutcomeResult,
    Quota,
    ReceiptMatch,
    RecoveryReport,
    SessionSlot,
    SmppReceipt,
    StoredMessage,
    UnmatchedReceipt,
    WebhookJob,
    WebhookState,
)
from smppgate.store.retention import PurgeKind
from smppgate.store.schedule import CancelResult
from smppgate.store.smpp_mo import SmppMo
from smppgate.store.smpp_parts import HeldSet, NewHeldPart


@runtime_checkable
class Store(Protocol):
    """The durable queue and message records (SQLite or PostgreSQL behind it)."""

    #: decides, inside the transactions recording receipts, outcomes, recoveries and inbound
    #: messages, the webhooks they cause (None: none are queued by the store)
    notifier: Notifier | None
    #: decides, inside the transaction recording an MO or USSD message (single or reassembled
    #: from its parts), the SMPP front door application it is routed to (None: none is)
    mo_router: MoRouter | None

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        ...

    @property
    def statements(self) -> int:
        """Statements sent to the database since the store opened, one per row of a batch
        run row by row (BEGIN and COMMIT not counted): the cost figure the benchmarks print."""
        ...

    @property
    def single_process(self) -> bool:
        """One process owns the database (SQLite): every lease and session slot a start finds
        is a dead process's, and there is no other node to share slots with."""
        ...

    # -- lifetime
    async def __aenter__(self) -> Store: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def aclose(self) -> None:
        """Close every connection; idempotent."""
        ...

    async def migrate(self) -> list[int]:
        """Apply pending migrations; return the versions applied (empty when up to date)."""
        ...

    async def schema_version(self) -> int: ...

    async def ping(self) -> None:
        """Raise `StoreUnavailable` unless the database answers (for /readyz)."""
        ...

    # -- messages
    async def insert_message(self, message: NewMessage, now: float) -> InsertResult:
        """Commit one message as `queued`; an existing idempotency key returns the first one."""
        ...

    async def insert_messages(
        self,
        messages: Sequence[NewMessage],
        now: float,
        check: Callable[[Sequence[InsertResult]], None] | None = None,
        quota: Quota | None = None,
    ) -> list[InsertResult]:
        """Up to 1,000 messages in one transaction: all are committed, or none (the error is
        raised). Results are in input order; a repeated key within the batch returns the
        first message of the batch with `created=False`. `check`, when given, sees the
        results before anything is written and may raise to insert nothing (idempotency
        conflicts are decided there, inside the transaction). A message whose (account,
        destination) is on the blocklist is inserted `blocked` (never claimed), its
        ``message.status`` webhook and front-door receipt queued in the same transaction.
        `quota`, when given, counts the messages created against the client's day in the
        same transaction and raises `QuotaExceeded` (inserting nothing) above its limit."""
        ...

    # -- the blocklist (store/blocklist.py)
    async def add_blocks(self, blocks: Sequence[NewBlock], now: float) -> list[BlockResult]:
        """Add entries (at most 1,000) in one transaction; a listed number keeps its entry
        (``created`` False), one a keyword listed becomes the adding operator's."""
        ...

    async def remove_block(self, account: str, number: str) -> BlockEntry | None:
        """Delete an entry; the entry deleted, None when the number was not listed."""
        ...

    async def list_blocklist(
        self,
        *,
        accounts: Sequence[str] | None = None,
        number: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> BlocklistPage:
        """Entries in id order after the id ``after``, of ``accounts`` (None: all)."""
        ...

    async def blocked_among(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """The (account, number) pairs among ``pairs`` that are listed (a read)."""
        ...

    async def block_listed(self, message_ids: Sequence[str], now: float) -> list[str]:
        """The messages among ``message_ids`` still queued or leased with no part sent whose
        destination is listed now end `blocked` (webhooks and front-door receipts queued in
        the same transaction); their ids."""
        ...

    async def client_usage(self, day: str) -> dict[str, int]:
        """Messages each client queued on ``day`` (a UTC date), as counted for quotas."""
        ...

    async def get_message(self, message_id: str) -> MessageDetail:
        """The message with its parts, attempts and receipts; `NotFound` if absent."""
        ...

    async def list_messages(
        self,
        *,
        state: MessageState | None = None,
        account: str | None = None,
        since: float | None = None,
        after: str | None = None,
        limit: int = 100,
        client: str | None = None,
    ) -> MessagePage:
        """Messages in id (= creation) order, created at or after `since`, after the cursor;
        with `client`, only that client's."""
        ...

    async def count_by_state(self, account: str | None = None) -> dict[MessageState, int]:
        """Every state with its count (zero included): queue depth for /metrics."""
        ...

    # -- queue
    async def claim(
        self,
        node_id: str,
        limit: int,
        now: float,
        lease_seconds: float,
        accounts: Sequence[str] | None = None,
    ) -> list[StoredMessage]:
        """Move up to `limit` due `queued` messages (next_attempt_at <= now; highest priority
        first, then oldest next_attempt_at, then id) to `sending`, leased to `node_id` until
        now + lease_seconds, and return them with their parts. No message is ever returned to
        two claimers. Send only the parts whose status is `planned`."""
        ...

    async def mark_parts_sent(self, parts: Sequence[tuple[str, int]], at: float) -> None:
        """(message id, seq) pairs whose submit_sm is about to be written: `planned` -> `sent`.
        Call it before the socket write; a lease that expires after it makes the part
        `unknown` instead of resending it."""
        ...

    async def renew_leases(
        self, node_id: str, message_ids: Sequence[str], now: float, lease_seconds: float
    ) -> int:
        """Extend this node's leases; return how many were still held."""
        ...

    async def record_outcome(self, outcome: Outcome) -> OutcomeResult: ...

    async def record_outcomes(self, outcomes: Sequence[Outcome]) -> list[OutcomeResult]:
        """Responses (and missing responses) for parts, in one transaction, then the message
        states by the lifecycle rule. A `Requeue` for a message that already ended is
        recorded in its history and otherwise ignored. Requeue a message only when none of
        its parts still awaits a response: its `sent` parts go back to `planned`."""
        ...

    async def recover_expired_leases(
        self,
        now: float,
        *,
        node_id: str | None = None,
        recovered_by: str = "",
        every_lease: bool = False,
        gone: Sequence[str] = (),
    ) -> RecoveryReport:
        """`sending` messages whose lease ran out by `now` (and, with `node_id`, all of that
        node's leases — for its own restart; with `gone`, all leases of those nodes, known
        not to run any more; with `every_lease`, every lease whatever its
        time — for the restart of the one process a SQLite store has): with no part `sent`,
        requeued; with a part `sent`, `unknown` — or requeued with those parts planned again
        if resend_unknown. `now` is the time written (it must be finite: which leases are
        taken is said by the other arguments, never by a sentinel time). The attempts it
        writes name ``recovered_by`` (default: ``node_id``)."""
        ...

    # -- scheduling and cancelling (store/schedule.py)
    async def release_scheduled(self, now: float) -> int:
        """Move up to 1,000 `scheduled` messages due by ``now`` to `queued` (the claim takes
        only those); return how many (call again while it returns 1,000)."""
        ...

    async def postpone(
        self, node_id: str, until: Sequence[tuple[str, float]], now: float, why: str
    ) -> list[str]:
        """(message id, time) pairs this node claimed and has not marked sent: back to
        `scheduled` at that time, the claim not counted as an attempt (a quiet-hours window,
        ``why`` in the history). Returns the ids moved."""
        ...

    async def cancel_message(
        self,
        message_id: str,
        now: float,
        *,
        by: str = "",
        tell_application: bool = True,
        submitted: bool = False,
    ) -> CancelResult:
        """Cancel a `queued` or `scheduled` message (`cancelled`, its ``message.status``
        webhook in the same transaction); any other state is left as it is and returned with
        ``cancelled`` False. Race-safe against the claim: a message is cancelled or sent, never
        both. ``tell_application``: a message an application submitted over SMPP gets its
        ``deleted`` receipt (not when the application cancelled it itself). ``submitted``: a
        `submitted` message is cancelled too (the SMSC agreed to a cancel_sm). `NotFound` if
        absent."""
        ...

    # -- receipts
    async def record_receipt(self, receipt: NewReceipt) -> ReceiptMatch | None:
        """Match by any key (filtered by account when given) and update part and message;
        with no match the receipt is kept as unmatched and None is returned. A later
        `PartAccepted` carrying one of its keys matches it then."""
        ...

    async def record_receipts(
        self, receipts: Sequence[NewReceipt]
    ) -> list[ReceiptMatch | None]: ...

    async def list_unmatched_receipts(
        self, *, after_id: int = 0, limit: int = 100
    ) -> list[UnmatchedReceipt]: ...

    async def count_unmatched_receipts(self) -> int: ...

    # -- inbound
    async def record_inbound(self, inbound: NewInbound) -> InboundMessage:
        """Store an MO or USSD message (and its webhook); an `OptKeyword` it carries changes
        its account's blocklist in the same transaction (and queues the notifier's
        `opt_job`)."""
        ...

    async def record_mo_parts(
        self,
        parts: Sequence[NewMoPart],
        reassembly_timeout: float,
        assemble: Assemble,
        max_sets: int | None = None,
    ) -> list[InboundMessage]:
        """Store parts of multi-part MO (each before its deliver_sm_resp); a set one of them
        completes is reassembled from the stored parts (``assemble``), written to inbound
        (returned) and marked completed in the same transaction (an `OptKeyword` the
        assembled record carries changes the blocklist there too, as in `record_inbound`). A
        part already stored, or identical to one of a set completed less than
        ``reassembly_timeout`` ago, is ignored. With ``max_sets``, a part that would start
        one set more than an account may have in progress first hands the account's oldest
        incomplete set over, partial (`MoSet.evicted`), in the same transaction (returned
        before the completed ones); no part is ever refused."""
        ...

    async def expire_mo_parts(
        self, account: str, cutoff: float, now: float, assemble: Assemble
    ) -> list[InboundMessage]:
        """Sets of ``account`` begun at or before ``cutoff`` still incomplete: written to
        inbound as partial (returned) and deleted; completed ones completed by then forgotten."""
        ...

    async def list_inbound(
        self,
        *,
        since: float | None = None,
        after_id: int = 0,
        account: str | None = None,
        limit: int = 100,
        accounts: Sequence[str] | None = None,
    ) -> list[InboundMessage]:
        """Inbound in id order after `after_id`; `accounts` keeps those received on one of
        them (a client's view)."""
        ...

    # -- SMPP front door outbox
    async def smpp_outbox(
        self, system_id: str, *, after_id: int = 0, limit: int = 100
    ) -> list[SmppReceipt]:
        """Receipts waiting for the application ``system_id`` (messages submitted with an
        `SmppOrigin`), oldest first, with an id above ``after_id``. A receipt stays until
        `smpp_outbox_done`; it was written in the transaction that recorded the upstream
        receipt or the message's final state."""
        ...

    async def smpp_message(self, system_id: str, message_id: str) -> StoredMessage | None:
        """The message ``message_id`` if the application ``system_id`` submitted it (None
        otherwise: another user's messages are not its to query)."""
        ...

    async def smpp_hold_parts(
        self, parts: Sequence[NewHeldPart], now: float
    ) -> tuple[list[str], list[HeldSet]]:
        """Hold parts an application split itself, in one transaction; return each one's id
        (``part_id``) and the sets they made complete."""
        ...

    async def smpp_due_sets(self, received_before: float, limit: int) -> list[HeldSet]:
        """The complete held sets (left by a crash between hold and release) and the sets
        whose first part came before ``received_before`` (to give up)."""
        ...

    async def smpp_release_sets(
        self, sets: Sequence[tuple[HeldSet, NewMessage]], now: float
    ) -> list[str]:
        """Each set becomes its message (``message.id`` is the set's) in the transaction that
        deletes its held parts; an incomplete set's message is final at once ('rejected',
        last_status_name ``incomplete_set``), so each part gets its receipt. Return the ids
        released (a set another node released first is skipped)."""
        ...

    async def smpp_parts_held(self) -> dict[str, int]:
        """Parts held for their set, per application."""
        ...

    async def smpp_held_seqs(self, system_id: str, message_id: str) -> list[int]:
        """The parts (seqs) held of the set ``message_id`` of the application ``system_id``
        (empty once the set became its message, or for another application's)."""
        ...

    async def smpp_mo_outbox(self, system_id: str, *, limit: int = 100) -> list[SmppMo]:
        """MO and USSD routed to the application ``system_id`` (the ``mo_router``'s choice),
        oldest first; each stays until `smpp_mo_done`."""
        ...

    async def smpp_mo_done(self, ids: Sequence[int]) -> None:
        """The application answered these MO deliver_sm: forget them (the inbound messages
        stay on the HTTP API)."""
        ...

    async def smpp_mo_expire(self, before: float) -> int:
        """Give up the routed MO written before ``before``; return how many."""
        ...

    async def smpp_mo_backlog(self) -> dict[str, int]:
        """Routed MO waiting, per application."""
        ...

    async def smpp_outbox_done(self, ids: Sequence[int]) -> None:
        """The application answered these receipts' deliver_sm: forget them."""
        ...

    async def smpp_outbox_expire(self, before: float) -> int:
        """Give up the receipts written before ``before`` (the application stayed away too
        long); return how many."""
        ...

    async def smpp_outbox_backlog(self) -> dict[str, int]:
        """Receipts waiting, per application (for the ops page and /metrics)."""
        ...

    # -- webhook outbox
    async def enqueue_webhook(
        self, url: str, payload: str, event: str, message_id: str | None, now: float
    ) -> WebhookJob:
        """`payload` is the exact JSON text to POST (and sign)."""
        ...

    async def claim_webhooks(
        self, node_id: str, limit: int, now: float, lease_seconds: float
    ) -> list[WebhookJob]:
        """Due pending jobs not leased by anyone, leased to this node; each claim counts as
        an attempt."""
        ...

    async def webhook_delivered(self, job_id: int, at: float) -> None: ...

    async def webhooks_delivered(self, job_ids: Sequence[int], at: float) -> None:
        """Many jobs delivered, marked in one transaction (the sender's batch of POSTs that
        were answered 2xx); ids no longer in the outbox are skipped."""
        ...

    async def webhooks_deferred(self, job_ids: Sequence[int], due_at: float) -> None:
        """Claimed jobs handed back unsent (their receiver was busy): pending again, due at
        `due_at`, the claim not counted as an attempt."""
        ...

    async def webhook_failed(
        self, job_id: int, at: float, error: str, retry_at: float | None, max_attempts: int
    ) -> WebhookState:
        """Retry at `retry_at` (the caller's backoff), or give up when `retry_at` is None or
        the job was attempted `max_attempts` times; return the new state."""
        ...

    async def get_webhook(self, job_id: int) -> WebhookJob: ...

    async def webhook_backlog(self) -> int:
        """Pending jobs (for /metrics)."""
        ...

    # -- retention (store/retention.py)
    async def purge(self, kind: PurgeKind, cutoff: float, limit: int) -> int:
        """Delete (or, for `PurgeKind.REDACT_TEXTS`, redact) at most ``limit`` rows of
        ``kind`` older than ``cutoff``; return how many. One small transaction."""
        ...

    async def take_maintenance_lease(
        self, name: str, node_id: str, now: float, lease_seconds: float
    ) -> bool:
        """Take or renew the cluster-wide lease of background job ``name``; False while
        another node holds it."""
        ...

    async def release_maintenance_lease(self, name: str, node_id: str) -> None: ...

    # -- cluster
    async def acquire_session_slot(
        self, system_id: str, max_slots: int, node_id: str, now: float, lease_seconds: float
    ) -> int | None:
        """A free slot index in 0..max_slots-1 (free = never taken, released, or lease run
        out), leased to `node_id`; None when all are held. Bind only with a slot."""
        ...

    async def renew_session_slot(
        self, system_id: str, slot: int, node_id: str, now: float, lease_seconds: float
    ) -> bool: ...

    async def release_session_slot(self, system_id: str, slot: int, node_id: str) -> None: ...

    async def release_node_slots(self, node_id: str) -> int: ...

    async def list_session_slots(self, system_id: str, now: float) -> list[SessionSlot]: ...

    async def lease_holders(self) -> list[str]:
        """The node_ids holding a lease on a message being sent."""
        ...

    async def record_drop(
        self, account: str, host: str, at: float, kind: DropKind, cooldown: float | None = None
    ) -> float:
        """Record a drop (60 s) or failed connect (90 s) to `host`; return when connecting
        to it is allowed again (the later of the running and the new cooldown)."""
        ...

    async def next_connect_allowed(self, account: str, host: str) -> float | None:
        """When any node may next connect `account` to `host` (None: no cooldown known)."""
        ...
