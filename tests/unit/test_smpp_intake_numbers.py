"""The SMPP front door reads destination_addr by its dest_addr_ton (smpp_intake, pure): an
international number as it is, a national one and one of unknown type by the account's dial
plan; other types and numbering plans are ESME_RINVDSTADR. Senders by the account's profile."""

from __future__ import annotations

import pytest

from smppgate.pdu import CommandStatus, Npi, Ton
from smppgate.service.config import parse_config
from smppgate.service.smpp_intake import SubmitRefused, smpp_submit
from tests.esme_helpers import submit

CONFIG = parse_config(
    {
        "accounts": [
            {"name": "demo", "profile": "devino-promo", "system_id": "demo", "password": "pw"},
            {"name": "by", "system_id": "by", "password": "pw", "hosts": ["127.0.0.1:2775"],
             "numbers": {"country_code": "375", "trunk_prefix": "80", "national_lengths": [9],
                         "national_first_digits": "12345"}},
        ],
        "smpp_server": {"listen": "127.0.0.1:27999",
                        "users": [{"system_id": "app", "password": "pw", "account": "demo"}]},
    },
    environ={},
)  # fmt: skip
USER = CONFIG.smpp_server.users[0]
DEMO, BY = CONFIG.accounts


@pytest.mark.parametrize(
    ("ton", "typed", "sent"),
    [
        (Ton.INTERNATIONAL, "79001234567", "79001234567"),
        (Ton.INTERNATIONAL, "+79001234567", "79001234567"),
        (Ton.INTERNATIONAL, "84912345678", "84912345678"),  # as it is: Vietnam, not Ryazan
        (Ton.INTERNATIONAL, "71001234567", "71001234567"),  # passed on as the app wrote it
        (Ton.NATIONAL, "9001234567", "79001234567"),
        (Ton.NATIONAL, "89001234567", "79001234567"),
        (Ton.UNKNOWN, "8 900 123-45-67", "79001234567"),
        (Ton.UNKNOWN, "89001234567", "79001234567"),
        (Ton.UNKNOWN, "+44 20 7946 0958", "442079460958"),
        (Ton.UNKNOWN, "84912345678", "74912345678"),  # as people type: Ryazan
    ],
)
def test_destinations_by_their_ton(ton: Ton, typed: str, sent: str) -> None:
    message = smpp_submit(submit(typed, dest_addr_ton=ton), USER, DEMO, 1_800_000_000.0)
    assert message.destination == sent


def test_the_accounts_plan_reads_national_numbers() -> None:
    for ton, typed in ((Ton.NATIONAL, "291234567"), (Ton.UNKNOWN, "8 029 123-45-67")):
        message = smpp_submit(submit(typed, dest_addr_ton=ton), USER, BY, 1_800_000_000.0)
        assert message.destination == "375291234567"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"dest_addr_ton": Ton.INTERNATIONAL, "destination_addr": "89001234567"}, "89"),
        ({"dest_addr_ton": Ton.NATIONAL, "destination_addr": "79001234567"}, "national"),
        ({"dest_addr_ton": Ton.UNKNOWN, "destination_addr": "*100#"}, "'*'"),
        ({"dest_addr_ton": Ton.SUBSCRIBER_NUMBER}, "dest_addr_ton 4"),
        ({"dest_addr_ton": Ton.ALPHANUMERIC, "destination_addr": "Devino"}, "dest_addr_ton 5"),
        ({"dest_addr_ton": Ton.NETWORK_SPECIFIC}, "dest_addr_ton 3"),
        ({"dest_addr_ton": Ton.ABBREVIATED}, "dest_addr_ton 6"),
        ({"dest_addr_npi": Npi.LAND_MOBILE}, "dest_addr_npi 6"),
    ],
)
def test_what_names_no_reachable_number_is_invdstadr(fields: dict[str, object], words: str) -> None:
    with pytest.raises(SubmitRefused) as info:
        smpp_submit(submit(**fields), USER, DEMO, 1_800_000_000.0)
    assert info.value.status is CommandStatus.ESME_RINVDSTADR
    assert words in info.value.detail


def test_senders_by_the_accounts_profile() -> None:
    # Devino sends every sender as TON 5: 12 digits do not fit, 11 do
    with pytest.raises(SubmitRefused) as info:
        smpp_submit(submit(source_addr="375291234567"), USER, DEMO, 1_800_000_000.0)
    assert info.value.status is CommandStatus.ESME_RINVSRCADR
    assert "at most 11" in info.value.detail
    message = smpp_submit(submit(source_addr="79001234567"), USER, DEMO, 1_800_000_000.0)
    assert message.source == "79001234567"
    # smpp34 sends it as an international number
    message = smpp_submit(submit(source_addr="375291234567"), USER, BY, 1_800_000_000.0)
    assert message.source == "375291234567"
