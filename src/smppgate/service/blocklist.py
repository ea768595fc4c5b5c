"""Blocklists and opt-out keywords as the API, the CLI and the dispatcher see them (issue 16).

The store keeps the entries and decides `blocked` (store/blocklist.py); this module says
which number an input names (`_list_key`), which account a caller may list it for, and
whether an MO is an opt-out or opt-in keyword.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from smppgate.numbers import RUSSIA, DialPlan
from smppgate.service.config import AccountConfig, ClientConfig
from smppgate.service.intake import Intake, ValidationError, check_destination
from smppgate.store import (
    Assemble,
    BlockEntry,
    BlocklistPage,
    BlockResult,
    BlockSource,
    MoSet,
    NewBlock,
    NewInbound,
    NotFound,
    OptAction,
    OptKeyword,
    Store,
)

__all__ = [
    "MAX_REASON",
    "Blocklists",
    "entry_json",
    "keyword_of",
    "opt_keyword",
    "with_keywords",
]

#: the longest ``reason`` an entry keeps
MAX_REASON = 200


def _list_key(number: str, field: str = "number", plan: DialPlan = RUSSIA) -> str:
    """The blocklist's key of a number: the destination exactly as intake stores it, read by
    the account's dial plan (``8 900 123-45-67`` -> ``79001234567``), so a message matches its
    entry by equality. `ValidationError` when it is no number."""
    return check_destination(number, field, plan)


def keyword_of(
    text: str, source: str, ussd_service_op: int | None, account: AccountConfig
) -> OptKeyword | None:
    """The `OptKeyword` of an MO whose whole text (trimmed, any case) is one of the account's
    opt-out or opt-in keywords and whose sender is a number; else None. A USSD request is
    never a keyword."""
    if ussd_service_op is not None:
        return None
    word = text.strip().casefold()
    if not word:
        return None
    action = None
    if word in {k.casefold() for k in account.opt_out_keywords}:
        action = OptAction.OPT_OUT
    elif word in {k.casefold() for k in account.opt_in_keywords}:
        action = OptAction.OPT_IN
    if action is None:
        return None
    try:
        number = _list_key(source, "source", account.numbers)
    except ValidationError:
        return None  # an alphanumeric sender cannot be messaged anyway
    return OptKeyword(action, text.strip(), number)


def opt_keyword(inbound: NewInbound, account: AccountConfig) -> NewInbound:
    """The MO with its `OptKeyword` set when it is a keyword (`keyword_of`); else unchanged.
    The store applies it in the transaction that records the MO (`insert_inbound`)."""
    opt = keyword_of(inbound.text, inbound.source, inbound.ussd_service_op, account)
    return inbound if opt is None else replace(inbound, opt=opt)


def with_keywords(assemble: Assemble, account: AccountConfig) -> Assemble:
    """``assemble`` (a multi-part MO's set -> its inbound record) whose complete sets carry
    their keyword: the store calls it in the transaction that stores the set's last part, so
    a keyword sent in parts changes the list with its MO, as a one-part keyword does. A set
    handed over partial is never a keyword (its whole text is not known)."""

    def run(mo_set: MoSet, now: float) -> NewInbound:
        inbound = assemble(mo_set, now)
        return opt_keyword(inbound, account) if mo_set.complete else inbound

    return run


def entry_json(e: BlockEntry) -> dict[str, Any]:
    """An entry as the API and ``smppgate blocklist --json`` show it (here, not in the API's
    schemas, so that the CLI needs no HTTP stack)."""
    created = datetime.fromtimestamp(e.created_at, UTC).isoformat(timespec="milliseconds")
    return {
        "number": e.number,
        "account": e.account,
        "source": e.source.value,
        "reason": e.reason,
        "added_by": e.added_by,
        "created_at": created.replace("+00:00", "Z"),
    }


class Blocklists:
    """Add, remove and list entries for a caller: a client (`ClientConfig`) sees and edits
    only the accounts it may use; None is the operator's CLI (every account)."""

    def __init__(
        self, intake: Intake, store: Store, clock: Callable[[], float] = time.time
    ) -> None:
        self._intake = intake
        self._store = store
        self._clock = clock

    def account(self, name: str | None, client: ClientConfig | None) -> AccountConfig:
        """The account named (None: the first the client may use, as for messages);
        `ValidationError` if unknown, `AccountForbiddenError` if the client may not use it."""
        return self._intake.account_for(name, client=client)

    def entry(
        self,
        number: str,
        reason: str | None,
        account: AccountConfig,
        source: BlockSource,
        by: str | None,
    ) -> NewBlock:
        """A checked entry (`ValidationError` naming ``number`` or ``reason``)."""
        if reason is not None and len(reason) > MAX_REASON:
            raise ValidationError("reason", f"at most {MAX_REASON} characters")
        key = _list_key(number, plan=account.numbers)
        return NewBlock(account.name, key, source, reason or None, by)

    async def add(
        self,
        number: str,
        *,
        account: str | None = None,
        reason: str | None = None,
        client: ClientConfig | None = None,
        source: BlockSource = BlockSource.API,
    ) -> BlockResult:
        chosen = self.account(account, client)
        by = client.name if client is not None else source.value
        block = self.entry(number, reason, chosen, source, by)
        return (await self._store.add_blocks([block], self._clock()))[0]

    async def add_many(self, blocks: Sequence[NewBlock]) -> list[BlockResult]:
        """Entries checked with `entry`, in one transaction (at most 1,000)."""
        return await self._store.add_blocks(blocks, self._clock())

    async def remove(
        self, number: str, *, account: str | None = None, client: ClientConfig | None = None
    ) -> BlockEntry:
        """Delete an entry whatever made it; `NotFound` when the number is not listed."""
        chosen = self.account(account, client)
        key = _list_key(number, plan=chosen.numbers)
        removed = await self._store.remove_block(chosen.name, key)
        if removed is None:
            raise NotFound("blocklist entry", f"{key} in account {chosen.name}")
        return removed

    async def list(
        self,
        *,
        account: str | None = None,
        number: str | None = None,
        after: int = 0,
        limit: int = 100,
        client: ClientConfig | None = None,
    ) -> BlocklistPage:
        """Entries in id order; of ``account`` (one the client may use), else of every account
        the client may use."""
        accounts: Sequence[str] | None
        plan = RUSSIA  # every account's list: the default dial plan reads the number
        if account is not None:
            chosen = self.account(account, client)
            accounts, plan = [chosen.name], chosen.numbers
        elif client is None or client.accounts is None:
            accounts = None
        else:
            accounts = client.accounts
        key = None if number is None else _list_key(number, plan=plan)
        return await self._store.list_blocklist(
            accounts=accounts, number=key, after=after, limit=limit
        )
