"""cancel_sm and query_sm at the front door from python-smpplib over 127.0.0.1 (SQLite and
PostgreSQL): a message scheduled with schedule_delivery_time shows ENROUTE, is cancelled while
it waits (then shows DELETED, and never goes upstream); a cancel of another user's or an
unknown message is ESME_RCANCELFAIL.

python-smpplib has the command codes of cancel_sm but no classes for it: the two below follow
its own pattern (SMPP 3.4 §4.9) and are handed to its factory for this test."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import smpplib.client
import smpplib.command
import smpplib.consts
import smpplib.smpp
from smpplib.command import Command, Param

from smppgate.store import MessageState
from tests.integration.test_front_door import running


class CancelSM(Command):
    service_type = message_id = source_addr = destination_addr = None
    source_addr_ton = source_addr_npi = dest_addr_ton = dest_addr_npi = None
    params = {
        "service_type": Param(type=str, max=6),
        "message_id": Param(type=str, max=65),
        "source_addr_ton": Param(type=int, size=1),
        "source_addr_npi": Param(type=int, size=1),
        "source_addr": Param(type=str, max=21),
        "dest_addr_ton": Param(type=int, size=1),
        "dest_addr_npi": Param(type=int, size=1),
        "destination_addr": Param(type=str, max=21),
    }
    params_order = (
        "service_type", "message_id", "source_addr_ton", "source_addr_npi", "source_addr",
        "dest_addr_ton", "dest_addr_npi", "destination_addr",
    )  # fmt: skip


class CancelSMResp(Command):
    params: dict[str, Any] = {}
    params_order = ()

    def __init__(self, command: str, **kwargs: Any) -> None:
        super().__init__(command, need_sequence=False, **kwargs)


@pytest.fixture
def smpplib_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    original = smpplib.command.factory

    def factory(command_name: str, **kwargs: Any) -> Any:
        extra = {"cancel_sm": CancelSM, "cancel_sm_resp": CancelSMResp}
        if command_name in extra:
            return extra[command_name](command_name, **kwargs)
        return original(command_name, **kwargs)

    monkeypatch.setattr(smpplib.command, "factory", factory)


def _session(host: str, port: int) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    client = smpplib.client.Client(host, port, timeout=10, allow_unknown_opt_params=True)
    other = smpplib.client.Client(host, port, timeout=10, allow_unknown_opt_params=True)
    client.connect()
    other.connect()
    try:
        client.bind_transceiver(system_id="app1", password="app1pw")
        other.bind_transceiver(system_id="app2", password="app2pw")

        def ask(who: smpplib.client.Client, name: str, **fields: Any) -> Any:
            who.send_pdu(smpplib.smpp.make_pdu(name, client=who, **fields))
            return who.read_pdu()

        address = {"source_addr_ton": smpplib.consts.SMPP_TON_ALNUM, "source_addr": "Devino"}
        submitted = ask(
            client,
            "submit_sm",
            **address,
            source_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
            dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
            destination_addr="79001234567",
            schedule_delivery_time="000001000000000R",  # in an hour
            registered_delivery=1,
            short_message=b"tomorrow's sale",
        )
        message_id = submitted.message_id.decode()
        seen["message_id"] = message_id
        seen["query_scheduled"] = ask(client, "query_sm", message_id=message_id, **address)
        seen["cancel_other_user"] = ask(other, "cancel_sm", message_id=message_id, **address)
        seen["cancel"] = ask(client, "cancel_sm", message_id=message_id, **address)
        seen["cancel_again"] = ask(client, "cancel_sm", message_id=message_id, **address)
        seen["query_cancelled"] = ask(client, "query_sm", message_id=message_id, **address)
        seen["cancel_unknown"] = ask(client, "cancel_sm", message_id="nosuchid", **address)
        client.unbind()
        other.unbind()
    finally:
        client.disconnect()
        other.disconnect()
    return seen


@pytest.mark.usefixtures("smpplib_cancel")
async def test_smpplib_cancels_a_scheduled_message_and_queries_it(store_url: str) -> None:
    async with running(store_url) as (emu, gateway, door):
        seen = await asyncio.wait_for(asyncio.to_thread(_session, *door.address), 30)
        scheduled = seen["query_scheduled"]
        assert scheduled.status == smpplib.consts.SMPP_ESME_ROK
        assert scheduled.message_state == 1  # ENROUTE: SMPP 3.4 has no "scheduled"
        assert not scheduled.final_date
        assert seen["cancel_other_user"].status == smpplib.consts.SMPP_ESME_RCANCELFAIL
        assert seen["cancel"].status == smpplib.consts.SMPP_ESME_ROK
        assert seen["cancel_again"].status == smpplib.consts.SMPP_ESME_ROK
        cancelled = seen["query_cancelled"]
        assert cancelled.message_state == 4  # DELETED
        assert len(cancelled.final_date) == 16
        assert seen["cancel_unknown"].status == smpplib.consts.SMPP_ESME_RCANCELFAIL
        detail = await gateway.store.get_message(seen["message_id"])
        assert detail.message.state is MessageState.CANCELLED
        assert [a.outcome for a in detail.attempts] == ["cancelled"]
        assert [a.node_id for a in detail.attempts] == ["smpp:app1"]
        # the application cancelled it itself: no receipt waits for it
        assert await gateway.store.smpp_outbox_backlog() == {}
        assert not list(emu.records)  # nothing went upstream
