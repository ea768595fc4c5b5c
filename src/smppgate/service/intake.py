"""Intake: turning a request (HTTP, CLI) into a durable message.

A request is validated field by field (a `ValidationError` names the field and says what to
write instead), its text is planned into submit_sm parts once, here, and the message with its
planned parts is committed to the store. `accept*` return only after the store has committed:
the API answers 2xx only for messages that are on disk.

USSD messages are ordinary messages with one part and the store's ``ussd_service_op`` and
``its_session_info`` columns set (see `UssdFields`).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from smppgate.numbers import RUSSIA, DialPlan, NumberError, SenderError, normalize
from smppgate.profiles import AddressPolicy
from smppgate.service.clients import (
    AccountForbiddenError,
    QuotaExceededError,
    quota_for,
    quota_resets_at,
)
from smppgate.service.config import AccountConfig, ClientConfig, GatewayConfig
from smppgate.service.egress import EgressPolicy, UrlRefusedError
from smppgate.service.quiet_hours import next_allowed
from smppgate.service.routes import NoRouteError, choose_account
from smppgate.store import (
    MAX_PRIORITY,
    InsertResult,
    MessageState,
    NewMessage,
    PlannedPart,
    QuotaExceeded,
    Store,
    StoredMessage,
)
from smppgate.text import (
    Encoding,
    ItsSessionInfo,
    Preview,
    ReferenceAllocator,
    ReferencesExhaustedError,
    SplitMethod,
    SplitPlan,
    TooManyPartsError,
    UnencodableTextError,
    UssdServiceOp,
    capacity,
    plan_split,
    preview,
)

__all__ = [
    "MAX_SEND_AHEAD",
    "MAX_VALIDITY",
    "Accepted",
    "Clock",
    "IdempotencyConflict",
    "Intake",
    "MessageRequest",
    "PreviewRequest",
    "UssdFields",
    "UssdRequest",
    "ValidationError",
    "check_send_at",
    "parse_send_at",
]

Clock = Callable[[], float]
"""Epoch seconds (``time.time`` in production, a fixed value in tests)."""

MAX_VALIDITY = 7 * 86400
#: the furthest ahead a message may be scheduled (``send_at``): 30 days
MAX_SEND_AHEAD = 30 * 86400
#: a ``send_at`` this far in the past is still taken (as "now": clocks differ a little);
#: further back it is surely a mistake (a wrong date, a wrong offset) and refused
SEND_AT_PAST_TOLERANCE = 600
#: RFC 3339 date-time: a full date, a time, and an offset (``Z`` or ``+03:00``), nothing else
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
MAX_REFERENCE_LENGTH = 128
#: the idempotency scope of batch keys is the caller's scope plus this: a batch key ``k`` is
#: stored as ``k#0``, ``k#1``... and must not meet a single message's key ``k#0``
BATCH_SCOPE_SUFFIX = "/batch"
#: the most characters one SMS part can hold (GSM7 single part); a text longer than
#: max_parts times this cannot fit whatever the encoding, and is refused before planning
_MAX_CHARS_PER_PART = 160
#: text encodings a request may ask for (binary needs octets, not text)
TEXT_ENCODINGS = (Encoding.AUTO, Encoding.GSM7, Encoding.LATIN1, Encoding.UCS2)
#: forget the references handed out after this many, so memory stays bounded in a long run
_ALLOCATOR_RESET = 50_000


class ValidationError(ValueError):
    """A request field is wrong: ``field`` names it (``to``, ``messages[3].text``), ``message``
    says what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def within(self, prefix: str) -> ValidationError:
        """The same error for a field inside a list (``messages[3]`` + ``to``)."""
        return ValidationError(f"{prefix}.{self.field}", self.message)


class IdempotencyConflict(Exception):  # noqa: N818  (a conflict, not a crash)
    """An idempotency key was used before for a different request."""

    def __init__(self, key: str, message_id: str) -> None:
        super().__init__(
            f"idempotency key {key!r} was used before for another request (message "
            f"{message_id}); a key may only be repeated with the very same request: use a new "
            "key for a new request"
        )
        self.key = key
        self.message_id = message_id


#: what a request decides about its message: a replay under the same key must match in every
#: one of them (the whole request, after defaults), else it is a conflict
_REQUEST_FIELDS = (
    "account", "source", "destination", "text", "encoding", "split_method", "validity_seconds",
    "callback_url", "client_reference", "resend_unknown", "priority", "traffic_class",
    "ussd_service_op", "its_session_info",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MessageRequest:
    """One outbound SMS as asked for. ``sender`` is the API's ``from``; None fields take the
    account's defaults (sender, split method, encoding, callback URL)."""

    to: str
    text: str
    sender: str | None = None
    account: str | None = None
    split: SplitMethod | None = None
    encoding: Encoding | None = None
    validity: int | None = None
    """Seconds the SMSC keeps trying (profile minimum .. 7 days); None = the SMSC default."""
    callback_url: str | None = None
    reference: str | None = None
    """The client's own reference, returned in webhooks and listings."""
    resend_unknown: bool = False
    """Resend a part whose submit_sm got no response (risking a duplicate)."""
    priority: int = 0
    """Within the account, due messages of a higher priority are sent first."""
    traffic_class: str | None = None
    """``transactional``, ``promo``, ``service`` or a class the routes name (None: the
    client's ``default_class``); routes choose the account by it when none is named."""
    send_at: float | None = None
    """Epoch seconds not to send before (`parse_send_at` reads RFC 3339); None: now. The
    message's validity counts from when it is sent."""


@dataclass(frozen=True, slots=True)
class UssdRequest:
    """One USSD message (service_type ``USSD``, ussd_service_op TLV, one part)."""

    to: str
    text: str
    service_op: int
    sender: str | None = None
    account: str | None = None
    session: ItsSessionInfo | None = None
    encoding: Encoding | None = None
    validity: int | None = None
    callback_url: str | None = None
    reference: str | None = None
    priority: int = 0
    traffic_class: str | None = None


def _check_priority(priority: int) -> None:
    if not 0 <= priority <= MAX_PRIORITY:
        raise ValidationError(
            "priority",
            f"must be 0..{MAX_PRIORITY} (higher is sent first; default 0), got {priority}",
        )


@dataclass(frozen=True, slots=True)
class PreviewRequest:
    text: str
    encoding: Encoding | None = None
    account: str | None = None
    to: str | None = None
    """A destination to show normalized (as the account reads it); None: none shown."""
    sender: str | None = None
    """A sender to check against the account's profile; None: none checked."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """A committed message. ``created`` is False when an idempotency key returned an earlier
    message (then ``status`` is that message's current state)."""

    id: str
    parts: int
    status: MessageState
    created: bool
    account: str


@dataclass(frozen=True, slots=True)
class UssdFields:
    """A USSD message's ussd_service_op and its_session_info, as the dispatcher sends them
    (service_type ``USSD`` with the two TLVs)."""

    service_op: int
    session: ItsSessionInfo | None = None
    service_type: str = "USSD"

    #: how store version 1 kept them, in ``traffic_class``: ``ussd;op=17;its=0a03``
    LEGACY_PREFIX = "ussd"

    @classmethod
    def of(cls, message: StoredMessage) -> UssdFields | None:
        """The USSD values of a stored message, or None for an ordinary SMS."""
        if message.ussd_service_op is not None:
            its = message.its_session_info
            return cls(
                service_op=message.ussd_service_op,
                session=None if its is None else ItsSessionInfo.from_bytes(its),
            )
        return cls.from_legacy(message.traffic_class)

    @classmethod
    def from_legacy(cls, value: str | None) -> UssdFields | None:
        """A message stored by version 1 (``traffic_class`` = ``ussd;op=N[;its=HEX]``)."""
        if value is None or not value.startswith(cls.LEGACY_PREFIX + ";"):
            return None
        fields = dict(item.split("=", 1) for item in value.split(";")[1:] if "=" in item)
        session = fields.get("its")
        return cls(
            service_op=int(fields["op"]),
            session=None if session is None else ItsSessionInfo.from_bytes(bytes.fromhex(session)),
        )


class Intake:
    """Validates, plans and commits messages; one per process, shared by the API and CLI."""

    def __init__(self, config: GatewayConfig, store: Store, clock: Clock = time.time) -> None:
        self._config = config
        self._store = store
        self._clock = clock
        #: epoch seconds (the clock the intake was given): for callers timing store calls
        self.now = clock
        self._accounts = {a.name: a for a in config.accounts}
        self._egress: EgressPolicy = config.webhooks.policy
        #: one space for UDH (8-bit) and SAR (16-bit) references: never the same number to
        #: one person for two messages in flight, whichever way each was split
        self._refs = ReferenceAllocator(bits=16)
        self._allocated = 0
        self._fallback = 0

    def reconfigure(self, config: GatewayConfig) -> None:
        """A reloaded configuration: the accounts' defaults and limits from now on."""
        self._config = config
        self._accounts = {a.name: a for a in config.accounts}

    # ------------------------------------------------------------------ public API

    def account_for(
        self, name: str | None, field: str = "account", client: ClientConfig | None = None
    ) -> AccountConfig:
        """The named account (when None: the first one the client may use); ValidationError
        if unknown, `AccountForbiddenError` if the client may not use it."""
        if name is None:
            if client is None or client.accounts is None:
                return self._config.accounts[0]
            return self._accounts[client.accounts[0]]
        found = self._accounts.get(name)
        if found is None:
            known = ", ".join(sorted(self._accounts))
            raise ValidationError(field, f"unknown account {name!r}; known accounts: {known}")
        if client is not None and not client.may_use(name):
            raise AccountForbiddenError(client.name, name, client.accounts or ())
        return found

    def route(
        self,
        name: str | None,
        traffic_class: str | None,
        to: str,
        client: ClientConfig | None = None,
        field: str = "to",
    ) -> tuple[AccountConfig, str]:
        """The account a message goes through, and its destination as that account reads it
        (`normalize` with the account's dial plan; ValidationError on ``field`` when it cannot).
        The account is the one the message names (if the client may use it), else the first
        matching ``[[routes]]`` entry the client may use (its prefix matched against the
        number as the route's account reads it), else (no routes configured) the first
        account the client may use. With routes and none matching: ValidationError on
        ``class``; only routes to forbidden accounts: `AccountForbiddenError`."""
        if name is not None or not self._config.routes:
            account = self.account_for(name, client=client)
            return account, check_destination(to, field, account.numbers)
        readings: dict[DialPlan, str | ValidationError] = {}
        for route in self._config.routes:
            plan = self._accounts[route.account].numbers
            if plan not in readings:
                try:
                    readings[plan] = check_destination(to, field, plan)
                except ValidationError as exc:
                    readings[plan] = exc
        numbers = {plan: n for plan, n in readings.items() if isinstance(n, str)}
        if not numbers:  # no account can read it: say why, as the first route's account does
            raise next(e for e in readings.values() if isinstance(e, ValidationError))

        def number_for(account: str) -> str | None:
            return numbers.get(self._accounts[account].numbers)

        only = set(numbers.values())
        try:
            chosen = choose_account(
                self._config.routes,
                traffic_class,
                only.pop() if len(readings) == 1 and len(only) == 1 else number_for,
                lambda account: client is None or client.may_use(account),
            )
        except NoRouteError as exc:
            if exc.forbidden is not None and client is not None:
                raise AccountForbiddenError(
                    client.name, exc.forbidden, client.accounts or ()
                ) from None
            raise ValidationError("class", str(exc)) from None
        account = self._accounts[chosen]
        return account, numbers[account.numbers]

    def traffic_class(self, value: str | None, client: ClientConfig | None) -> str | None:
        """The message's class: the one named (it must be known), else the client's default."""
        if value is None:
            return None if client is None else client.default_class
        known = self._config.traffic_classes
        if value not in known:
            raise ValidationError("class", f"unknown class {value!r}; classes: {', '.join(known)}")
        return value

    def prepare(
        self,
        request: MessageRequest,
        *,
        idempotency_key: str | None = None,
        scope: str = "",
        client: ClientConfig | None = None,
    ) -> NewMessage:
        """Validate and plan one message without storing it (raises `ValidationError`, or
        `AccountForbiddenError` for an account the client may not use)."""
        traffic_class = self.traffic_class(request.traffic_class, client)
        account, destination = self.route(request.account, traffic_class, request.to, client)
        sender = self._sender(request.sender, account)
        split = account.split if request.split is None else request.split
        _check_priority(request.priority)
        encoding = self._encoding(request.encoding, account)
        validity = self._validity(request.validity, account)
        callback_url = self._callback_url(request.callback_url)
        reference = _reference(request.reference)
        not_before = self._send_time(request.send_at, account, traffic_class, destination)
        plan = self._plan(request.text, encoding, split, account, destination)
        return NewMessage(
            account=account.name,
            source=sender,
            destination=destination,
            text=request.text,
            parts=planned_parts(plan),
            encoding=plan.encoding.value,
            split_method=plan.method.value,
            validity_seconds=validity,
            callback_url=callback_url,
            client_reference=reference,
            resend_unknown=request.resend_unknown,
            traffic_class=traffic_class,
            priority=request.priority,
            idempotency_key=idempotency_key,
            idempotency_scope=scope,
            not_before=not_before,
            client=_client_name(client),
        )

    def prepare_ussd(
        self,
        request: UssdRequest,
        *,
        idempotency_key: str | None = None,
        scope: str = "",
        client: ClientConfig | None = None,
    ) -> NewMessage:
        """Validate and plan one USSD message (one part, never split)."""
        traffic_class = self.traffic_class(request.traffic_class, client)
        account, destination = self.route(request.account, traffic_class, request.to, client)
        sender = self._sender(request.sender, account)
        if not 0 <= request.service_op <= 0xFF:
            raise ValidationError("op", "ussd_service_op is one octet (0..255)")
        _check_priority(request.priority)
        encoding = self._encoding(request.encoding, account)
        validity = self._validity(request.validity, account)
        callback_url = self._callback_url(request.callback_url)
        reference = _reference(request.reference)
        _check_text(request.text)
        try:
            plan = plan_split(
                request.text,
                encoding,
                SplitMethod.UDH,
                reference=0,
                max_parts=1,
                default_alphabet=account.default_alphabet,
            )
        except UnencodableTextError as exc:
            raise _unencodable(exc) from None
        except TooManyPartsError:
            cost = preview(request.text, encoding, account.default_alphabet)
            room = capacity(cost.encoding).single
            raise ValidationError(
                "text",
                f"a USSD message is one part: at most {room} {cost.unit.value}s in "
                f"{cost.encoding.value}, the text has {cost.units}",
            ) from None
        fields = UssdFields(request.service_op, request.session)
        return NewMessage(
            account=account.name,
            source=sender,
            destination=destination,
            text=request.text,
            parts=planned_parts(plan),
            encoding=plan.encoding.value,
            split_method=plan.method.value,
            validity_seconds=validity,
            callback_url=callback_url,
            client_reference=reference,
            traffic_class=traffic_class,
            priority=request.priority,
            idempotency_key=idempotency_key,
            idempotency_scope=scope,
            ussd_service_op=fields.service_op,
            its_session_info=None if fields.session is None else fields.session.to_bytes(),
            client=_client_name(client),
        )

    async def commit(
        self,
        messages: Sequence[NewMessage],
        *,
        batch_key: str | None = None,
        client: ClientConfig | None = None,
    ) -> list[Accepted]:
        """Insert prepared messages in ONE store transaction (all or none) and return after the
        commit. An idempotency key seen before returns the first message (`created` False),
        or raises `IdempotencyConflict` (and stores nothing) when that message came from
        another request, or when only part of a batch (``batch_key``) was seen before.
        The messages created count against the client's daily quota in that transaction:
        `QuotaExceededError` (nothing stored) when they would exceed it."""
        if not messages:
            return []

        def check(results: Sequence[InsertResult]) -> None:
            for message, result in zip(messages, results, strict=True):
                _check_replay(message, result, batch_key)
            replayed = {r.created for r in results}
            if batch_key is not None and len(replayed) > 1:
                first = next(r.message.id for r in results if not r.created)
                raise IdempotencyConflict(batch_key, first)

        now = self._clock()
        try:
            results = await self._store.insert_messages(
                messages, now, check, quota_for(client, now)
            )
        except QuotaExceeded as exc:
            raise QuotaExceededError(
                exc.client, exc.limit, exc.used, quota_resets_at(now)
            ) from None
        return [_accepted(r) for r in results]

    async def accept(
        self,
        request: MessageRequest,
        *,
        idempotency_key: str | None = None,
        scope: str = "",
        client: ClientConfig | None = None,
    ) -> Accepted:
        """Validate, plan and commit one message."""
        message = self.prepare(request, idempotency_key=idempotency_key, scope=scope, client=client)
        return (await self.commit([message], client=client))[0]

    async def accept_batch(
        self,
        requests: Sequence[MessageRequest],
        *,
        idempotency_key: str | None = None,
        scope: str = "",
        client: ClientConfig | None = None,
    ) -> list[Accepted]:
        """Every request valid, then all committed in one transaction; the first invalid one
        raises a `ValidationError` whose field is ``messages[i].<field>`` and nothing is stored.
        With a key, message i gets the key ``<key>#<i>`` in the caller's batch scope (apart
        from single-message keys); a batch whose key was used for another batch (other
        messages, another length) is an `IdempotencyConflict`."""
        prepared = []
        batch_scope = scope + BATCH_SCOPE_SUFFIX
        for i, request in enumerate(requests):
            key = None if idempotency_key is None else f"{idempotency_key}#{i}"
            try:
                prepared.append(
                    self.prepare(request, idempotency_key=key, scope=batch_scope, client=client)
                )
            except ValidationError as exc:
                raise exc.within(f"messages[{i}]") from None
        return await self.commit(prepared, batch_key=idempotency_key, client=client)

    async def accept_ussd(
        self,
        request: UssdRequest,
        *,
        idempotency_key: str | None = None,
        scope: str = "",
        client: ClientConfig | None = None,
    ) -> Accepted:
        message = self.prepare_ussd(
            request, idempotency_key=idempotency_key, scope=scope, client=client
        )
        return (await self.commit([message], client=client))[0]

    def preview(self, request: PreviewRequest, client: ClientConfig | None = None) -> Preview:
        """Encoding, parts, units left in the last part, characters forcing UCS2."""
        account = self.account_for(request.account, client=client)
        encoding = self._encoding(request.encoding, account)
        _check_text(request.text)
        try:
            return preview(request.text, encoding, account.default_alphabet)
        except UnencodableTextError as exc:
            raise _unencodable(exc) from None

    def preview_addresses(
        self, request: PreviewRequest, client: ClientConfig | None = None
    ) -> tuple[str | None, str | None]:
        """(the destination normalized, the sender as it goes out) for a preview, each None
        when not asked; ValidationError on ``to`` / ``from`` as a message would get."""
        account = self.account_for(request.account, client=client)
        to = None if request.to is None else check_destination(request.to, plan=account.numbers)
        sender = (
            None
            if request.sender is None
            else check_sender(request.sender, addresses=account.profile.addresses)
        )
        return to, sender

    def concatenation_reference(self, split: SplitMethod, destination: str) -> int:
        """A reference for the parts of a message split elsewhere (by an SMPP front door
        application), drawn from the API's own allocator: the two never collide."""
        return self._allocate(split, destination)

    def release_reference(self, destination: str, ref: int) -> None:
        """Give back a concatenation reference once its message is final (optional: without
        it references still rotate, see `_allocate`); UDH and SAR share one space."""
        self._refs.release(destination, ref)

    # ------------------------------------------------------------------ validation

    def _sender(self, sender: str | None, account: AccountConfig) -> str:
        if sender is None:
            if account.default_sender is None:
                raise ValidationError(
                    "from", f"required: account {account.name!r} has no default_sender"
                )
            return check_sender(account.default_sender, addresses=account.profile.addresses)
        return check_sender(sender, addresses=account.profile.addresses)

    @staticmethod
    def _encoding(encoding: Encoding | None, account: AccountConfig) -> Encoding:
        chosen = account.encoding if encoding is None else encoding
        if chosen not in TEXT_ENCODINGS:
            names = ", ".join(e.value for e in TEXT_ENCODINGS)
            raise ValidationError("encoding", f"must be one of {names} for text")
        return chosen

    def _send_time(
        self,
        send_at: float | None,
        account: AccountConfig,
        traffic_class: str | None,
        destination: str,
    ) -> float | None:
        """When the message may first go (None: now): ``send_at``, moved to the end of the
        quiet hours it falls in. Refuses a time absurdly far ahead or behind."""
        now = self._clock()
        due = now
        if send_at is not None:
            check_send_at(send_at, now)
            due = max(now, send_at)
        opens = next_allowed(
            self._config.quiet_hours, account.name, traffic_class, destination, due
        )
        if opens is not None:
            due = opens
        return due if due > now else None

    @staticmethod
    def _validity(validity: int | None, account: AccountConfig) -> int | None:
        if validity is None:
            return None
        minimum = math.ceil(account.profile.min_validity)
        if validity < minimum:
            raise ValidationError(
                "validity",
                f"at least {minimum} seconds (the platform refuses shorter), got {validity}",
            )
        if validity > MAX_VALIDITY:
            raise ValidationError(
                "validity", f"at most {MAX_VALIDITY} seconds (7 days), got {validity}"
            )
        return validity

    def _callback_url(self, url: str | None) -> str | None:
        if url is None:
            return None
        try:
            self._egress.check_url(url)
        except UrlRefusedError as exc:
            raise ValidationError("callback_url", f"{exc}; got {url!r}") from None
        return url

    # ------------------------------------------------------------------ planning

    def _plan(
        self,
        text: str,
        encoding: Encoding,
        split: SplitMethod,
        account: AccountConfig,
        destination: str,
    ) -> SplitPlan:
        _check_text(text)
        limit = account.max_parts * _MAX_CHARS_PER_PART
        if len(text) > limit:
            raise ValidationError(
                "text",
                f"too long: {len(text)} characters; account {account.name!r} sends at most "
                f"{account.max_parts} parts (at most {limit} characters)",
            )
        reference = self._allocate(split, destination)
        try:
            plan = plan_split(
                text,
                encoding,
                split,
                reference=reference,
                max_parts=account.max_parts,
                default_alphabet=account.default_alphabet,
            )
        except UnencodableTextError as exc:
            self._release(split, destination, reference)
            raise _unencodable(exc) from None
        except TooManyPartsError as exc:
            self._release(split, destination, reference)
            cost = preview(text, encoding, account.default_alphabet)
            raise ValidationError(
                "text",
                f"too long: needs {exc.parts} parts in {cost.encoding.value}, account "
                f"{account.name!r} allows at most {exc.max_parts}; shorten the text",
            ) from None
        if len(plan.parts) == 1 or split is SplitMethod.PAYLOAD:
            self._release(split, destination, reference)
        return plan

    def _allocate(self, split: SplitMethod, destination: str) -> int:
        """A reference not in flight to this destination from this process, from any account;
        when all are, a rotating counter (the SMSC only needs consecutive messages to
        differ)."""
        if split is SplitMethod.PAYLOAD:
            return 0
        self._allocated += 1
        if self._allocated >= _ALLOCATOR_RESET:
            self._allocated = 0
            self._refs = ReferenceAllocator(bits=16)
        bits = 16 if split is SplitMethod.SAR else 8
        try:
            return self._refs.allocate(destination, bits)
        except ReferencesExhaustedError as exc:
            self._fallback = (self._fallback + 1) % exc.modulus
            return self._fallback

    def _release(self, split: SplitMethod, destination: str, ref: int) -> None:
        if split is not SplitMethod.PAYLOAD:
            self.release_reference(destination, ref)


# ---------------------------------------------------------------------- field checks


def parse_send_at(value: str, field: str = "send_at") -> float:
    """An RFC 3339 time with its offset (``2026-12-07T09:00:00+03:00``, ``...Z``) as epoch
    seconds; ValidationError for anything else (a naive time would be guessed, so it is not)."""
    if not _RFC3339.fullmatch(value):
        hint = " (no UTC offset: add Z or e.g. +03:00)" if _RFC3339.fullmatch(value + "Z") else ""
        raise ValidationError(
            field,
            f"an RFC 3339 time with its offset, e.g. 2026-12-07T09:00:00+03:00 or "
            f"2026-12-07T06:00:00Z; got {value[:40]!r}{hint}",
        )
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).timestamp()
    except (ValueError, OverflowError) as exc:
        raise ValidationError(field, f"not a valid time: {value[:40]!r} ({exc})") from None


def check_send_at(send_at: float, now: float) -> None:
    """ValidationError for a send time absurdly far ahead (over `MAX_SEND_AHEAD`) or behind
    (a wrong date or offset, more than a few minutes back)."""
    if send_at > now + MAX_SEND_AHEAD:
        raise ValidationError(
            "send_at",
            f"at most {MAX_SEND_AHEAD // 86400} days ahead; got "
            f"{_iso(send_at)}, {(send_at - now) / 86400:.1f} days from now",
        )
    if send_at < now - SEND_AT_PAST_TOLERANCE:
        raise ValidationError(
            "send_at",
            f"{_iso(send_at)} is {(now - send_at) / 60:.0f} minutes in the past; "
            "give a time ahead (or leave send_at out to send now), and check its UTC offset",
        )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _client_name(client: ClientConfig | None) -> str | None:
    return None if client is None else client.name


def check_destination(to: str, field: str = "to", plan: DialPlan = RUSSIA) -> str:
    """International digits for a number as people type it (``8 900 123-45-67``), read by
    ``plan`` (`smppgate.numbers.normalize`); ValidationError naming ``field`` otherwise."""
    try:
        return normalize(to, plan)
    except NumberError as exc:
        raise ValidationError(field, exc.message) from None


#: the usual SMPP conventions (alphanumeric TON 5, international TON 1), for callers that
#: name no account
_SMPP_ADDRESSES = AddressPolicy()


def check_sender(
    sender: str, field: str = "from", addresses: AddressPolicy = _SMPP_ADDRESSES
) -> str:
    """A sender the account's profile can carry (`AddressPolicy.check_sender`): numeric (a
    leading ``+`` dropped; 15 digits, 11 where every sender goes as TON 5) or alphanumeric
    (up to 11 characters a handset shows)."""
    try:
        return addresses.check_sender(sender)
    except SenderError as exc:
        raise ValidationError(field, exc.message) from None


def _check_text(text: str) -> None:
    if not text:
        raise ValidationError("text", "must not be empty")


def _reference(reference: str | None) -> str | None:
    if reference is not None and len(reference) > MAX_REFERENCE_LENGTH:
        raise ValidationError("reference", f"at most {MAX_REFERENCE_LENGTH} characters")
    return reference


def _unencodable(exc: UnencodableTextError) -> ValidationError:
    return ValidationError(
        "text",
        f"character {exc.character!r} (U+{ord(exc.character):04X}) at position {exc.index} "
        f"cannot be sent in {exc.encoding}; remove it or use encoding 'ucs2' or 'auto'",
    )


def planned_parts(plan: SplitPlan) -> tuple[PlannedPart, ...]:
    """The plan's parts as the store keeps them (SAR values, or the payload, per part)."""
    return tuple(
        PlannedPart(
            seq=seq,
            short_message=part.short_message,
            esm_class=part.esm_class,
            data_coding=plan.data_coding,
            sar_ref=None if part.sar is None else part.sar.msg_ref_num,
            sar_total=None if part.sar is None else part.sar.total_segments,
            sar_seq=None if part.sar is None else part.sar.segment_seqnum,
            message_payload=part.message_payload,
        )
        for seq, part in enumerate(plan.parts, 1)
    )


def _check_replay(message: NewMessage, result: InsertResult, batch_key: str | None) -> None:
    stored = result.message
    if result.created:
        return
    if any(getattr(stored, f) != getattr(message, f) for f in _REQUEST_FIELDS):
        key = batch_key if batch_key is not None else message.idempotency_key
        raise IdempotencyConflict(key or "", stored.id)


def _accepted(result: InsertResult) -> Accepted:
    stored = result.message
    return Accepted(stored.id, stored.part_count, stored.state, result.created, stored.account)


def ussd_service_op(name: str) -> int:
    """A ussd_service_op from its name (``pssr_response``) or number (``17``)."""
    if name.isascii() and name.isdecimal():
        if len(name) > 3 or int(name) > 0xFF:
            raise ValidationError("op", f"a number is 0..255; got {name[:10]!r}")
        return int(name)
    try:
        return int(UssdServiceOp[name.upper()])
    except KeyError:
        names = ", ".join(op.name.lower() for op in UssdServiceOp)
        raise ValidationError("op", f"one of {names}, or a number 0..255; got {name!r}") from None
