"""smppgate's codec adapter for the peer harness in ../shared/bench (codec_bench.py).

Run side by side with the peers in one run:

    cd ../shared/bench && PYTHONPATH=$PWD/../../main/src:$PWD/../../main/benchmarks \
        PROJECT_CODEC_ADAPTER='peer_adapter:Adapter' bash run_all.sh

It encodes exactly the logical PDUs of the harness's common.py (the harness checks the bytes
are identical to the other libraries'): "encode" builds the PDU value from fields and
serialises it; "decode" parses bytes and reads short_message and destination_addr.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from smppgate.pdu import DeliverSm, SubmitSm, decode, encode

SRC_ADDR = "447700900001"
DST_ADDR = "447700900123"
TEXT = b"Hello from the SMPP peer benchmark: 70 Latin characters in one part..."
DLR_TEXT = (
    b"id:0000012345 sub:001 dlvrd:001 submit date:2401011200 "
    b"done date:2401011201 stat:DELIVRD err:000 text:Hello from the SMP"
)


class Adapter:
    name = "smppgate"

    def __init__(self) -> None:
        try:
            self.version = version("smppgate")
        except PackageNotFoundError:
            self.version = "source"

    def enc_submit(self, seq: int) -> bytes:
        return encode(
            SubmitSm(
                source_addr_ton=1,
                source_addr_npi=1,
                source_addr=SRC_ADDR,
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=DST_ADDR,
                registered_delivery=1,
                short_message=TEXT,
            ),
            seq,
        )

    def dec_submit(self, b: bytes) -> tuple[bytes, str]:
        pdu = decode(b)
        return pdu.short_message, pdu.destination_addr  # type: ignore[union-attr]

    def enc_deliver(self, seq: int) -> bytes:
        return encode(
            DeliverSm(
                source_addr_ton=1,
                source_addr_npi=1,
                source_addr=DST_ADDR,
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=SRC_ADDR,
                esm_class=4,
                short_message=DLR_TEXT,
            ),
            seq,
        )

    dec_deliver = dec_submit
