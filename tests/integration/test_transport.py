"""The asyncio driver over real sockets on 127.0.0.1: an ESME session and an SMSC session."""

from __future__ import annotations

import asyncio

from smppgate.pdu import CommandStatus, SubmitSm, SubmitSmResp
from smppgate.session import (
    BindMode,
    BindRequested,
    Bound,
    CloseReason,
    Event,
    RequestReceived,
    ResponseReceived,
    Role,
    Session,
    SessionConfig,
)
from smppgate.transport import SessionConnection, connect, serve


async def test_bind_submit_and_unbind_over_tcp() -> None:
    received: list[SubmitSm] = []

    def smsc_handler(conn: SessionConnection, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, BindRequested):
                conn.run(lambda s, now, e=event: s.accept_bind(e.pdu, "EMU", now))
            elif isinstance(event, RequestReceived) and isinstance(event.pdu, SubmitSm):
                received.append(event.pdu)
                conn.send_response(event.pdu, SubmitSmResp(message_id=f"m{len(received)}"))

    server = await serve(
        lambda: SessionConnection(Session(Role.SMSC), smsc_handler), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    bound = loop.create_future()
    responses: list[ResponseReceived] = []
    done = loop.create_future()

    def esme_handler(conn: SessionConnection, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, Bound):
                bound.set_result(event)
            elif isinstance(event, ResponseReceived) and isinstance(event.response, SubmitSmResp):
                responses.append(event)
                if len(responses) == 50:
                    done.set_result(None)

    conn = await connect(
        "127.0.0.1", port, Session(Role.ESME, SessionConfig(window=10)), esme_handler
    )
    conn.run(lambda s, now: s.bind(BindMode.TRANSCEIVER, "login", "pw", now))
    assert (await asyncio.wait_for(bound, 5)).system_id == "EMU"
    sent = 0
    while sent < 50:
        while sent < 50 and conn.session.window_free:
            conn.send_request(SubmitSm(destination_addr="79001234567"), context=sent)
            sent += 1
        await asyncio.sleep(0.001)
    await asyncio.wait_for(done, 5)
    assert sorted(r.context for r in responses) == list(range(50))  # type: ignore[type-var]
    assert all(r.response.command_status is CommandStatus.ESME_ROK for r in responses)
    assert len(received) == 50
    conn.run(lambda s, now: s.unbind(now))
    assert await asyncio.wait_for(conn.closed, 5) is CloseReason.LOCAL_UNBIND
    server.close()
    await server.wait_closed()
