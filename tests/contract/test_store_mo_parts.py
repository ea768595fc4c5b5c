"""The parts of multi-part MO kept in the store until their set completes (D-25), on SQLite and
PostgreSQL: each part is committed before its deliver_sm_resp, the set is reassembled from what
was stored — across a restart, across sessions — in the transaction that stores its last part,
and a set whose parts stop coming goes out partial after the reassembly timeout."""

from __future__ import annotations

from dataclasses import replace

from smppgate.service.config import HostAddress, SmppRouteConfig, SmppServerConfig
from smppgate.service.incoming import inbound_for_set
from smppgate.service.smpp_mo import SmppRoutes
from smppgate.store import InboundMessage, NewMoPart, Store, open_store

T0 = 1_700_000_000.0
TIMEOUT = 120.0


def _part(seq: int, payload: bytes, at: float, *, reference: int = 7, total: int = 3,
          session: str = "demo#0") -> NewMoPart:  # fmt: skip
    return NewMoPart(
        account="demo",
        source="79001234567",
        destination="1234",
        reference=reference,
        total=total,
        seq=seq,
        payload=payload,
        data_coding=0,
        service_type="",
        ussd_service_op=None,
        its_session_info=None,
        session=session,
        received_at=at,
    )


async def _add(store: Store, *parts: NewMoPart) -> list[InboundMessage]:
    return await store.record_mo_parts(list(parts), TIMEOUT, inbound_for_set)


async def test_a_set_is_reassembled_from_parts_stored_before_a_restart(store_url: str) -> None:
    async with open_store(store_url) as store:
        assert await _add(store, _part(2, b" world", T0)) == []
        assert await _add(store, _part(1, b"hello", T0 + 1)) == []
    # the process ended: the parts answered so far were committed
    async with open_store(store_url) as store:
        (mo,) = await _add(store, _part(3, b"!", T0 + 2, session="demo#1"))
        assert mo.text == "hello world!"
        assert mo.received_at == T0 + 2
        assert "parts=3 status=complete session=demo#1" in mo.parts_info
        assert [m.id for m in await store.list_inbound()] == [mo.id]


async def test_parts_sent_again_are_ignored_and_a_reused_reference_starts_anew(
    store: Store,
) -> None:
    assert await _add(store, _part(1, b"a", T0), _part(1, b"a", T0)) == []
    (mo,) = await _add(store, _part(2, b"b", T0 + 1), _part(3, b"c", T0 + 1))
    assert mo.text == "abc"
    # the SMSC sends the last part again (its answer was lost): nothing new
    assert await _add(store, _part(3, b"c", T0 + 5)) == []
    # the same reference for another message: a new set
    assert await _add(store, _part(1, b"x", T0 + 6)) == []
    (again,) = await _add(store, _part(2, b"y", T0 + 7), _part(3, b"z", T0 + 7))
    assert again.text == "xyz"


async def test_a_set_whose_parts_stop_coming_goes_out_partial(store: Store) -> None:
    await _add(store, _part(1, b"abc", T0), _part(3, b"ghi", T0 + 1))
    assert await store.expire_mo_parts("demo", T0 - 1, T0 + 10, inbound_for_set) == []
    (mo,) = await store.expire_mo_parts("demo", T0 + 1, T0 + TIMEOUT + 1, inbound_for_set)
    assert mo.text == "abcghi"
    assert "parts=3 status=timed_out" in mo.parts_info
    assert mo.received_at == T0 + TIMEOUT + 1
    # handed over once; a late part begins a set of its own
    assert await store.expire_mo_parts("demo", T0 + 1, T0 + TIMEOUT + 2, inbound_for_set) == []
    assert await _add(store, _part(2, b"def", T0 + TIMEOUT + 3)) == []
    assert len(await store.list_inbound()) == 1


async def test_completed_sets_are_forgotten_after_the_timeout(store: Store) -> None:
    (mo,) = await _add(store, _part(1, b"a", T0, total=2), _part(2, b"b", T0, total=2))
    assert await store.expire_mo_parts("demo", T0, T0 + TIMEOUT, inbound_for_set) == []
    # forgotten: the same part now begins a new set
    assert await _add(store, _part(1, b"a", T0 + TIMEOUT + 1, total=2)) == []
    assert [m.id for m in await store.list_inbound()] == [mo.id]


async def test_a_set_reassembled_or_gone_partial_is_routed_by_the_stores_router(
    store: Store,
) -> None:
    # the store reassembles multi-part MO itself: the SMPP front door's routes are applied
    # there, in the transaction that records the set, as for a single MO
    config = SmppServerConfig(
        listen=HostAddress("127.0.0.1", 2776), routes=(SmppRouteConfig("app1", destination="1234"),)
    )
    store.mo_router = SmppRoutes(lambda: config)
    (complete,) = await _add(store, _part(1, b"a", T0, total=2), _part(2, b"b", T0, total=2))
    await _add(store, _part(1, b"x", T0, reference=8))
    (partial,) = await store.expire_mo_parts("demo", T0, T0 + TIMEOUT + 1, inbound_for_set)
    routed = await store.smpp_mo_outbox("app1")
    assert [(m.system_id, m.inbound.id) for m in routed] == [
        ("app1", complete.id),
        ("app1", partial.id),
    ]
    assert partial.text == "x"


async def test_a_new_set_over_the_cap_hands_the_oldest_over_partial_and_refuses_nothing(
    store: Store,
) -> None:
    """The sets in progress of an account are capped: a part that would start one more is
    still stored (its deliver_sm_resp is 0 toward the platform, always), and the account's
    oldest incomplete set goes to inbound partial in that transaction, as the timeout would
    have sent it later. The other account's sets are not counted."""

    async def add(*parts: NewMoPart) -> list[InboundMessage]:
        return await store.record_mo_parts(list(parts), TIMEOUT, inbound_for_set, max_sets=2)

    assert await add(_part(1, b"old", T0, reference=1)) == []
    assert await add(_part(1, b"mid", T0 + 1, reference=2)) == []
    # another part of a set in progress starts nothing: nothing given up
    assert await add(_part(2, b"dle", T0 + 2, reference=2)) == []
    # a third set: the oldest (reference 1) is handed over with the part it had
    (evicted,) = await add(_part(1, b"new", T0 + 3, reference=3))
    assert evicted.text == "old"
    assert "parts=3 status=evicted" in evicted.parts_info
    assert evicted.received_at == T0 + 3
    # the new set's part was kept: its set completes from the store
    (done,) = await add(_part(2, b"-", T0 + 4, reference=3), _part(3, b"set", T0 + 4, reference=3))
    assert done.text == "new-set"
    # the part given up is not lost, nor sent twice; its set's later part starts anew
    assert [m.text for m in await store.list_inbound()] == ["old", "new-set"]
    assert await add(_part(2, b"late", T0 + 5, reference=1)) == []
    # another account counts its own sets
    assert await add(replace(_part(1, b"x", T0 + 6, reference=9), account="other")) == []
    (evicted,) = await add(_part(1, b"four", T0 + 7, reference=4))
    assert evicted.text == "middle"
    assert "status=evicted" in evicted.parts_info
