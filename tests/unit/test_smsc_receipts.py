"""The server's receipt builder (``smppgate.smsc.receipts``) against its definition: the text of
``format_receipt`` and the TLVs of ``make_tlv``, byte for byte on the wire, and the dates of
``strftime`` — for every state, errors, ids, texts (non-ASCII ones too) and times near a
minute's edges."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from smppgate.pdu import DeliverSm, EsmClass, Npi, TlvTag, Ton, encode, make_tlv
from smppgate.smsc.receipts import ReceiptDates, receipt_date, receipt_pdu
from smppgate.text import DeliveryState, format_receipt


def _reference(
    receipt_id: str,
    state: DeliveryState,
    error: int,
    submitted: datetime,
    done: datetime,
    text: str,
) -> DeliverSm:
    """The receipt as the builder was first written (format_receipt, make_tlv)."""
    body = format_receipt(receipt_id, state, submitted, done, err=error, text=text)
    return DeliverSm(
        source_addr_ton=Ton.INTERNATIONAL,
        source_addr_npi=Npi.ISDN,
        source_addr="79001234567",
        dest_addr_ton=5,
        dest_addr_npi=1,
        destination_addr="Devino",
        esm_class=EsmClass.SMSC_DELIVERY_RECEIPT,
        short_message=body.encode("ascii", "replace"),
        tlvs=(
            make_tlv(TlvTag.RECEIPTED_MESSAGE_ID, receipt_id),
            make_tlv(TlvTag.MESSAGE_STATE, int(state)),
            make_tlv(TlvTag.NETWORK_ERROR_CODE, b"\x03" + error.to_bytes(2, "big")),
        ),
    )


_times = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)


@given(
    receipt_id=st.one_of(
        st.integers(0, 10**20).map(str),
        st.integers(0, 2**64).map(lambda n: format(n, "x")),
        st.text(st.characters(min_codepoint=1, max_codepoint=255), min_size=1, max_size=64),
    ),
    state=st.sampled_from(list(DeliveryState)),
    error=st.integers(0, 0xFFFF),
    submitted=_times,
    done=_times,
    text=st.text(max_size=40),
)
def test_receipt_is_the_format_receipt_one_byte_for_byte(
    receipt_id: str,
    state: DeliveryState,
    error: int,
    submitted: datetime,
    done: datetime,
    text: str,
) -> None:
    built = receipt_pdu(
        receipt_id=receipt_id, state=state, error=error, submitted=submitted, done=done,
        text=text, source_ton=5, source_npi=1, source="Devino", destination="79001234567",
    )  # fmt: skip
    expected = _reference(receipt_id, state, error, submitted, done, text)
    assert built == expected
    assert encode(built, 7) == encode(expected, 7)


@given(_times)
def test_receipt_date_is_strftime(at: datetime) -> None:
    assert receipt_date(at) == at.strftime("%y%m%d%H%M")


@given(
    st.integers(0, 4_000_000_000 // 60),
    st.sampled_from([0.0, 1e-7, 4e-7, 5e-7, 6e-7, 1e-6, 1e-3, 0.5, 30.0, 59.999, 59.9999995]),
    st.booleans(),
)
def test_receipt_dates_cache_is_fromtimestamp_also_at_a_minute_edge(
    minute: int, second: float, before: bool
) -> None:
    timestamp = minute * 60.0 + (60.0 - second if before else second)
    dates = ReceiptDates()
    expected = receipt_date(datetime.fromtimestamp(timestamp, UTC))
    assert dates.text(timestamp) == expected
    assert dates.text(timestamp) == expected  # from the cache now
    neighbour = timestamp + 0.25
    assert dates.text(neighbour) == receipt_date(datetime.fromtimestamp(neighbour, UTC))


def test_receipt_dates_across_a_new_year_every_third_of_a_second() -> None:
    dates = ReceiptDates()
    start = datetime(2026, 12, 31, 23, 55, tzinfo=UTC).timestamp()
    for step in range(10 * 60 * 3):
        timestamp = start + step / 3
        expected = datetime.fromtimestamp(timestamp, UTC).strftime("%y%m%d%H%M")
        assert dates.text(timestamp) == expected
