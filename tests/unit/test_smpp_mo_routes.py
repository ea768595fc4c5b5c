"""MO routing to front door users and the deliver_sm of a routed MO (pure functions)."""

from __future__ import annotations

from typing import Any

from smppgate.pdu import TlvTag
from smppgate.service.config import HostAddress, InboundKind, SmppRouteConfig, SmppServerConfig
from smppgate.service.smpp_mo import mo_pdu, route_inbound
from smppgate.store import InboundMessage, NewInbound
from smppgate.text import concatenation_udh


def _config(*routes: SmppRouteConfig) -> SmppServerConfig:
    return SmppServerConfig(listen=HostAddress("127.0.0.1", 2776), routes=routes)


def _mo(text: str = "hello", destination: str = "1234", op: int | None = None) -> NewInbound:
    return NewInbound("demo", "79001110000", destination, text, 0, 1.0, ussd_service_op=op)


def test_the_first_route_whose_every_criterion_matches_wins() -> None:
    config = _config(
        SmppRouteConfig("stop", destination="1234", keyword="stop"),
        SmppRouteConfig("shortcode", destination="1234", kind=InboundKind.SMS),
        SmppRouteConfig("ussd", kind=InboundKind.USSD),
        SmppRouteConfig("other-account", account="promo"),
    )
    assert route_inbound(config, _mo("STOP now")) == "stop"
    assert route_inbound(config, _mo("stopped")) == "shortcode"
    assert route_inbound(config, _mo("hi", "+1234")) == "shortcode"
    assert route_inbound(config, _mo("*100#", "*100#", op=1)) == "ussd"
    assert route_inbound(config, _mo("hi", "5555")) is None
    assert route_inbound(config, _mo("", "5555")) is None


def test_no_front_door_no_route() -> None:
    config = SmppServerConfig(routes=(SmppRouteConfig("app1"),))
    assert route_inbound(config, _mo()) is None


def _inbound(text: str, data_coding: int = 0, info: str = "", op: int | None = None) -> Any:
    return InboundMessage(7, "demo", "79001110000", "1234", text, data_coding, 1.0, op, info)


def test_the_deliver_sm_carries_the_text_in_its_coding() -> None:
    gsm = mo_pdu(_inbound("hello"))
    assert (gsm.data_coding, gsm.short_message) == (0, b"hello")
    assert gsm.source_addr == "79001110000"
    assert gsm.destination_addr == "1234"
    ucs2 = mo_pdu(_inbound("Привет", 8))
    assert ucs2.short_message.decode("utf-16-be") == "Привет"
    # a text the store kept as hex goes as the octets it came as
    octets = concatenation_udh(1, 2, 1) + b"\x00\x01"
    raw = mo_pdu(_inbound(octets.hex(), 4, "parts=1 status=complete text=hex"))
    assert (raw.data_coding, raw.short_message) == (4, octets)


def test_a_long_mo_goes_in_message_payload_and_ussd_keeps_its_tlvs() -> None:
    long = mo_pdu(_inbound("Я" * 200, 8))
    assert long.short_message == b""
    payload = next(t.value for t in long.tlvs if t.tag == TlvTag.MESSAGE_PAYLOAD)
    assert payload.decode("utf-16-be") == "Я" * 200
    ussd = mo_pdu(_inbound("*100#", 0, "parts=1 its_session=0102", op=1))
    assert ussd.service_type == "USSD"
    tlvs = {t.tag: t.value for t in ussd.tlvs}
    assert tlvs[TlvTag.USSD_SERVICE_OP] == b"\x01"
    assert tlvs[TlvTag.ITS_SESSION_INFO] == b"\x01\x02"
