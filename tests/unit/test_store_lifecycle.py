"""The state rule itself (pure, no database): the table the store's contract relies on."""

from __future__ import annotations

import pytest

from smppgate.store import InvalidTransition, MessageState, PartStatus, ReceiptState
from smppgate.store.lifecycle import PartView, check_transition, derive_state, settle

M, P, R = MessageState, PartStatus, ReceiptState


def acc(receipt: ReceiptState | None = None) -> PartView:
    return PartView(P.ACCEPTED, receipt)


@pytest.mark.parametrize(
    ("parts", "payload", "expected"),
    [
        ([PartView(P.PLANNED)], False, None),
        ([acc(), PartView(P.SENT)], False, None),
        ([acc(), acc()], False, M.SUBMITTED),
        ([acc(R.ENROUTE), acc()], False, M.SUBMITTED),
        ([acc(R.DELIVERED), acc()], False, M.SUBMITTED),
        ([acc(R.DELIVERED), acc(R.DELIVERED)], False, M.DELIVERED),
        ([acc(R.DELIVERED), acc(R.EXPIRED)], False, M.EXPIRED),
        ([acc(R.UNKNOWN), acc(R.DELIVERED)], False, M.UNKNOWN),
        ([acc(R.REJECTED), acc(R.UNDELIVERABLE)], False, M.REJECTED),
        ([acc(), PartView(P.FAILED), PartView(P.PLANNED)], False, M.FAILED),
        ([acc(R.DELIVERED), PartView(P.UNKNOWN)], False, M.UNKNOWN),
        ([acc(R.UNDELIVERABLE), PartView(P.UNKNOWN)], False, M.UNDELIVERABLE),
        ([PartView(P.REJECTED), PartView(P.FAILED)], False, M.FAILED),
        ([acc(R.DELIVERED), acc()], True, M.DELIVERED),
    ],
)
def test_derive_state(parts: list[PartView], payload: bool, expected: MessageState | None) -> None:
    assert derive_state(parts, uses_payload=payload) == expected


def test_settle_never_improves_a_final_state() -> None:
    assert settle("m", M.UNDELIVERABLE, M.DELIVERED) is M.UNDELIVERABLE
    assert settle("m", M.UNKNOWN, M.UNDELIVERABLE) is M.UNDELIVERABLE
    assert settle("m", M.FAILED, M.SUBMITTED) is M.FAILED
    assert settle("m", M.SENDING, None) is M.SENDING
    assert settle("m", M.SENDING, M.SUBMITTED) is M.SUBMITTED


def test_illegal_transitions_raise() -> None:
    with pytest.raises(InvalidTransition):
        check_transition("m", M.SUBMITTED, M.QUEUED)
    with pytest.raises(InvalidTransition):
        check_transition("m", M.DELIVERED, M.SENDING)
    check_transition("m", M.QUEUED, M.SENDING)
