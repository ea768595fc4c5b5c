"""Loading the shared PDU test vectors (tests/data, copied from shared/data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smppgate.pdu import (
    BODIES,
    CommandStatus,
    DestAddress,
    Pdu,
    Tlv,
    UnsuccessSme,
)

DATA = Path(__file__).parent / "data"


def load(name: str) -> list[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def pdu_from_fields(fields: dict[str, Any]) -> Pdu:
    """Build our PDU value from a vector's field dict (the vector's naming)."""
    cid = int(fields["command_id"], 16)
    body = BODIES[cid]
    kwargs: dict[str, Any] = {}
    for name in body.cls._fields:
        if name == "command_id":
            continue
        if name == "command_status":
            kwargs[name] = CommandStatus(int(fields["command_status"], 16))
        elif name == "sequence_number":
            kwargs[name] = fields["sequence_number"]
        elif name == "tlvs":
            kwargs[name] = tuple(
                Tlv(int(tag, 16), bytes.fromhex(t["hex"])) for tag, t in fields["tlvs"].items()
            )
        elif name == "short_message":
            if name in fields:
                kwargs[name] = bytes.fromhex(fields[name])
        elif name == "dest_addresses":
            kwargs[name] = tuple(
                DestAddress(dl_name=d["dl_name"])
                if "dl_name" in d
                else DestAddress(d["dest_addr_ton"], d["dest_addr_npi"], d["destination_addr"])
                for d in fields["dest_address"]
            )
        elif name == "unsuccess_sme":
            kwargs[name] = tuple(UnsuccessSme(**u) for u in fields["unsuccess_sme"])
        elif name in fields:
            kwargs[name] = fields[name]
    return body.cls(**kwargs)
