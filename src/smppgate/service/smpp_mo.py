"""MO and USSD for the SMPP front door's applications: which user an inbound message is routed
to (``[[smpp_server.routes]]``, the first entry whose every criterion matches), and the
deliver_sm that carries it to the application. Pure.

An inbound message keeps its record on the HTTP API whatever its route; a routed one is put in
its user's outbox in the same transaction (``store.smpp_mo``) and gets no inbound webhook.
"""

from __future__ import annotations

from collections.abc import Callable

from smppgate.pdu import DeliverSm, Npi, Tlv, TlvTag, Ton, make_tlv
from smppgate.service.config import InboundKind, SmppRouteConfig, SmppServerConfig
from smppgate.store import InboundMessage, NewInbound
from smppgate.text import Encoding, TextError, encode

#: octets a deliver_sm's short_message carries; a longer MO goes in message_payload
_SHORT_MESSAGE_MAX = 254
_ENCODINGS = {0: Encoding.GSM7, 3: Encoding.LATIN1, 8: Encoding.UCS2}


def route_inbound(config: SmppServerConfig, inbound: NewInbound) -> str | None:
    """The user ``inbound`` is routed to (None when no route takes it)."""
    if not config.enabled:
        return None
    for route in config.routes:
        if _matches(route, inbound):
            return route.user
    return None


class SmppRoutes:
    """The store's ``mo_router``: routes by the ``[[smpp_server.routes]]`` of the configuration
    in force (read at each message: a reload's routes apply to the next one). In the store, so
    that a multi-part MO the store reassembles from its parts is routed as a single one is."""

    def __init__(self, config: Callable[[], SmppServerConfig]) -> None:
        self._config = config

    def smpp_user(self, inbound: NewInbound) -> str | None:
        return route_inbound(self._config(), inbound)


def _matches(route: SmppRouteConfig, inbound: NewInbound) -> bool:
    kind = InboundKind.SMS if inbound.ussd_service_op is None else InboundKind.USSD
    if route.kind is not None and route.kind is not kind:
        return False
    if route.account is not None and route.account != inbound.account:
        return False
    if route.destination is not None and route.destination != inbound.destination.removeprefix("+"):
        return False
    if route.keyword is not None:
        words = inbound.text.split(maxsplit=1)
        if not words or words[0].casefold() != route.keyword:
            return False
    return True


def mo_pdu(inbound: InboundMessage) -> DeliverSm:
    """The deliver_sm of a routed MO (or USSD): from the subscriber to the number or short
    code it wrote to, its text in the data_coding it came in (as the octets it came as when
    the store kept them in hex), in message_payload when over one short_message."""
    data_coding = inbound.data_coding
    if "text=hex" in inbound.parts_info.split():
        octets = bytes.fromhex(inbound.text)
    else:
        try:
            octets = encode(inbound.text, _ENCODINGS.get(data_coding, Encoding.UCS2))
        except TextError:  # not in the alphabet it said: UCS2 holds any text
            data_coding, octets = 8, encode(inbound.text, Encoding.UCS2)
        if data_coding not in _ENCODINGS:
            data_coding = 8
    tlvs: list[Tlv] = []
    short_message = octets
    if len(octets) > _SHORT_MESSAGE_MAX:
        short_message = b""
        tlvs.append(make_tlv(TlvTag.MESSAGE_PAYLOAD, octets))
    service_type = ""
    if inbound.ussd_service_op is not None:
        service_type = "USSD"
        tlvs.append(make_tlv(TlvTag.USSD_SERVICE_OP, inbound.ussd_service_op))
        session = _its_session(inbound.parts_info)
        if session is not None:
            tlvs.append(make_tlv(TlvTag.ITS_SESSION_INFO, session))
    numeric = inbound.destination.isdigit()
    return DeliverSm(
        service_type=service_type,
        source_addr_ton=Ton.INTERNATIONAL,
        source_addr_npi=Npi.ISDN,
        source_addr=inbound.source,
        dest_addr_ton=Ton.UNKNOWN if numeric else Ton.ALPHANUMERIC,
        dest_addr_npi=Npi.ISDN if numeric else Npi.UNKNOWN,
        destination_addr=inbound.destination,
        data_coding=data_coding,
        short_message=short_message,
        tlvs=tuple(tlvs),
    )


def _its_session(parts_info: str) -> bytes | None:
    for item in parts_info.split():
        if item.startswith("its_session="):
            try:
                return bytes.fromhex(item.removeprefix("its_session="))
            except ValueError:
                return None
    return None
