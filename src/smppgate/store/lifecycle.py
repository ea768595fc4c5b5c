"""The one rule that says what state a message is in. Pure functions, no I/O.

Two kinds of moves change a message's state:

1. **Queue moves**, made by the operation itself: insert -> `queued` (or `scheduled` when its
   send time is ahead; due -> `queued`); claim -> `sending` (with a lease); requeue / lease
   recovery -> `queued` again; a claimed message inside a quiet-hours window -> `scheduled`;
   cancel (only from `queued` or `scheduled`; from `submitted` once the SMSC agreed to a
   cancel_sm) -> `cancelled`, final, never left.
2. **Derived moves**: after any change to a part (a response, a receipt, a recovery), the
   message state is recomputed from its parts by `derive_state`:

   - Each part has an *outcome*: `planned` and `sent` are pending; `accepted` without a final
     receipt is `submitted`; `accepted` with a final receipt is the receipt's state
     (DELIVRD -> delivered, UNDELIV/DELETED -> undeliverable, EXPIRED -> expired,
     REJECTD -> rejected, UNKNOWN -> unknown); `failed`, `rejected`, `unknown` are themselves.
   - For a message_payload send only the first part counts (the platform sends one receipt).
   - If any counted part ended at submit time (`failed`, `rejected`, `unknown`), the message is
     final at once: the worst outcome among the final ones. Parts still planned are abandoned
     (half a concatenated message is never completed later).
   - Else if every counted part is final: the worst outcome, so `delivered` only when every part
     is delivered.
   - Else if every counted part is accepted: `submitted`.
   - Else the message is still in the queue's hands: it keeps `queued` / `sending`.

   "Worst" follows `SEVERITY`: delivered < unknown < expired < undeliverable < rejected < failed
   (unknown may still have reached the handset; the others surely did not).

`TRANSITIONS` lists every legal move; a final state may still move to a worse final state when a
later receipt shows it (e.g. `unknown` -> `undeliverable`).

3. **Decided moves**: `blocked` (the destination is on the account's blocklist) is set by the
   store at insert or, for a message still queued or leased and not sent, instead of sending
   it; `cancelled` by a cancel (the queue move above). Both are final and never derived from
   parts, so nothing moves a message out of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from smppgate.store.errors import InvalidTransition
from smppgate.store.models import MessageState, PartStatus, ReceiptState

M = MessageState

SEVERITY: dict[MessageState, int] = {
    M.DELIVERED: 0,
    M.UNKNOWN: 1,
    M.EXPIRED: 2,
    M.UNDELIVERABLE: 3,
    M.REJECTED: 4,
    M.FAILED: 5,
}

RECEIPT_OUTCOME: dict[ReceiptState, MessageState] = {
    ReceiptState.DELIVERED: M.DELIVERED,
    ReceiptState.UNDELIVERABLE: M.UNDELIVERABLE,
    ReceiptState.DELETED: M.UNDELIVERABLE,
    ReceiptState.EXPIRED: M.EXPIRED,
    ReceiptState.REJECTED: M.REJECTED,
    ReceiptState.UNKNOWN: M.UNKNOWN,
}

_SUBMIT_FINAL: dict[PartStatus, MessageState] = {
    PartStatus.FAILED: M.FAILED,
    PartStatus.REJECTED: M.REJECTED,
    PartStatus.UNKNOWN: M.UNKNOWN,
}

_FINALS = frozenset(SEVERITY)

TRANSITIONS: dict[MessageState, frozenset[MessageState]] = {
    M.SCHEDULED: frozenset({M.QUEUED, M.SCHEDULED, M.CANCELLED}),
    M.QUEUED: frozenset({M.SENDING, M.QUEUED, M.BLOCKED, M.CANCELLED}) | _FINALS,
    M.SENDING: frozenset({M.QUEUED, M.SCHEDULED, M.SUBMITTED, M.BLOCKED}) | _FINALS,
    # cancelled at the SMSC (cancel_sm answered OK, where the profile has it)
    M.SUBMITTED: _FINALS | {M.CANCELLED},
    **{s: frozenset(f for f in _FINALS if SEVERITY[f] > SEVERITY[s]) for s in _FINALS},
    # decided, final, never left: nothing of a blocked message was sent, and a cancelled one
    # was either never sent or taken back by the SMSC (cancel_sm): no receipt or outcome can
    # concern them
    M.BLOCKED: frozenset(),
    M.CANCELLED: frozenset(),
}
#: the states a cancel takes a message from (anything later may already be on the air)
CANCELLABLE = frozenset({M.SCHEDULED, M.QUEUED})


#: the states a message's parts may move it out of: not a decided state (`blocked`,
#: `cancelled`), nor `scheduled` (nothing of it was sent)
TRANSITIONS_FROM_PARTS = frozenset({M.QUEUED, M.SENDING, M.SUBMITTED}) | _FINALS


@dataclass(frozen=True, slots=True)
class PartView:
    """The two facts about a part the rule reads."""

    status: PartStatus
    receipt_state: ReceiptState | None = None


def part_outcome(part: PartView) -> MessageState | None:
    """The part's contribution: a final state, `submitted`, or None while it is pending."""
    final = _SUBMIT_FINAL.get(part.status)
    if final is not None:
        return final
    if part.status is PartStatus.ACCEPTED:
        if part.receipt_state is not None and part.receipt_state.is_final:
            return RECEIPT_OUTCOME[part.receipt_state]
        return M.SUBMITTED
    return None


def worst(states: Iterable[MessageState]) -> MessageState:
    return max(states, key=SEVERITY.__getitem__)


def derive_state(parts: Iterable[PartView], *, uses_payload: bool) -> MessageState | None:
    """The message state the parts imply, or None when the queue still holds it."""
    counted = list(parts)
    if uses_payload:
        counted = counted[:1]
    outcomes = [part_outcome(p) for p in counted]
    finals = [o for o in outcomes if o is not None and o in SEVERITY]
    if any(p.status in _SUBMIT_FINAL for p in counted):
        return worst(finals)
    if outcomes and len(finals) == len(outcomes):
        return worst(finals)
    if outcomes and all(o is not None for o in outcomes):
        return M.SUBMITTED
    return None


def settle(message_id: str, current: MessageState, derived: MessageState | None) -> MessageState:
    """The state to store: `derived` when it is a legal move from `current`, else `current`.

    A derived state never moves a final message to a better or equal one (a late duplicate
    receipt cannot turn `undeliverable` back into `delivered`).
    """
    if derived is None or derived is current or current not in TRANSITIONS_FROM_PARTS:
        return current
    if current.is_final and (derived not in SEVERITY or SEVERITY[derived] <= SEVERITY[current]):
        return current
    check_transition(message_id, current, derived)
    return derived


def check_transition(message_id: str, old: MessageState, new: MessageState) -> None:
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(message_id, old, new)
