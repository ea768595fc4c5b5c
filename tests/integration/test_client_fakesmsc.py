"""A scriptable SMSC on the project's own session core (SMSC role) over 127.0.0.1, for the client
tests: it records connections, binds and submits with their loop times, answers submits with
whatever status a test scripts, can stay silent, refuse binds, drop or unbind sessions and
push deliver_sm. (The platform emulator is the product; this is a test double with a narrow
job: put the client in each situation of the platform's rules, deterministically.)
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from smppgate.pdu import (
    BindTransceiver,
    CommandStatus,
    DeliverSm,
    Pdu,
    QuerySm,
    QuerySmResp,
    SubmitSm,
    SubmitSmResp,
    Unbind,
)
from smppgate.session import (
    BindRequested,
    Event,
    RequestReceived,
    ResponseReceived,
    Role,
    Session,
)
from smppgate.transport import SessionConnection, serve

# a submit script: (submit, n-th submit overall) -> status to answer, or None to stay silent
Script = Callable[[SubmitSm, int], CommandStatus | None]


def accept_all(pdu: SubmitSm, n: int) -> CommandStatus | None:
    return CommandStatus.ESME_ROK


@dataclass
class Submit:
    pdu: SubmitSm
    at: float
    conn: SessionConnection
    status: CommandStatus | None
    message_id: str


@dataclass
class FakeSmsc:
    script: Script = accept_all
    bind_status: CommandStatus = CommandStatus.ESME_ROK
    accept_connections: bool = True
    submits: list[Submit] = field(default_factory=list)
    connects: list[float] = field(default_factory=list)
    binds: list[tuple[float, Pdu]] = field(default_factory=list)
    bound: list[SessionConnection] = field(default_factory=list)
    queries: list[QuerySm] = field(default_factory=list)
    received: list[Pdu] = field(default_factory=list)
    responses: list[Pdu] = field(default_factory=list)
    held: list[Submit] = field(default_factory=list)
    server: asyncio.AbstractServer | None = None
    port: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _conns: list[SessionConnection] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, port: int = 0) -> FakeSmsc:
        self.server = await serve(self._factory, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _factory(self) -> SessionConnection:
        loop = asyncio.get_running_loop()
        conn = SessionConnection(Session(Role.SMSC), self._handle)
        self.connects.append(loop.time())
        self._conns.append(conn)
        if not self.accept_connections:
            loop.call_soon(conn.abort)
        self._changed.set()
        return conn

    def _handle(self, conn: SessionConnection, events: list[Event]) -> None:
        now = asyncio.get_running_loop().time()
        for event in events:
            if isinstance(event, BindRequested):
                self.binds.append((now, event.pdu))
                if self.bind_status == CommandStatus.ESME_ROK:
                    conn.run(lambda s, t, e=event: s.accept_bind(e.pdu, "FAKE", t))
                    self.bound.append(conn)
                else:
                    conn.run(lambda s, t, e=event: s.reject_bind(e.pdu, self.bind_status, t))
            elif isinstance(event, RequestReceived):
                pdu = event.pdu
                self.received.append(pdu)
                if isinstance(pdu, SubmitSm):
                    n = len(self.submits)
                    status = self.script(pdu, n)
                    mid = f"{next(self._ids):08x}"
                    submit = Submit(pdu, now, conn, status, mid)
                    self.submits.append(submit)
                    if status is None:
                        self.held.append(submit)
                        continue
                    if status == CommandStatus.ESME_ROK:
                        conn.send_response(pdu, SubmitSmResp(message_id=mid))
                    else:
                        conn.send_response(pdu, SubmitSmResp(command_status=status))
                elif isinstance(pdu, QuerySm):
                    self.queries.append(pdu)
                    conn.send_response(
                        pdu,
                        QuerySmResp(
                            message_id=pdu.message_id,
                            final_date="250101120000000+",
                            message_state=2,
                        ),
                    )
            elif isinstance(event, ResponseReceived):
                self.responses.append(event.response)
        self._changed.set()

    def answer(self, submit: Submit, status: CommandStatus = CommandStatus.ESME_ROK) -> None:
        """Answer a held submit now."""
        self.held.remove(submit)
        if status == CommandStatus.ESME_ROK:
            submit.conn.send_response(submit.pdu, SubmitSmResp(message_id=submit.message_id))
        else:
            submit.conn.send_response(submit.pdu, SubmitSmResp(command_status=status))

    async def wait_for(self, predicate: Callable[[], bool], limit: float = 5.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    def live(self) -> list[SessionConnection]:
        return [c for c in self.bound if c.is_open]

    def deliver(self, conn: SessionConnection, pdu: DeliverSm) -> None:
        conn.send_request(pdu)

    def unbind(self, conn: SessionConnection) -> None:
        conn.send_request(Unbind())

    async def close(self) -> None:
        for conn in self._conns:
            conn.abort()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        # let the aborted transports run connection_lost
        await asyncio.sleep(0)


async def test_fake_smsc_binds_and_answers() -> None:
    from smppgate.pdu import decode, encode

    smsc = await FakeSmsc().start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", smsc.port)
        writer.write(encode(BindTransceiver(system_id="a", password="b"), 1))
        header = await reader.readexactly(16)
        length = int.from_bytes(header[:4], "big")
        body = await reader.readexactly(length - 16)
        assert decode(header + body).command_status == CommandStatus.ESME_ROK
        writer.close()
        await writer.wait_closed()
    finally:
        await smsc.close()
