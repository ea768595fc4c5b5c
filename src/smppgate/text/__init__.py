"""The text layer: what a message's characters become on the SMPP wire, and back.

Pure functions and small value types, standard library only, no I/O and no clock; it imports
no other smppgate package (it sits beside ``smppgate.pdu``, not above it).

* :mod:`~smppgate.text.gsm7` — GSM 03.38 alphabet, unpacked septets, packing helpers.
* :mod:`~smppgate.text.coding` — :class:`Encoding`, :class:`DefaultAlphabet` (what
  data_coding 0 means), strict :func:`encode`, tolerant :func:`decode`.
* :mod:`~smppgate.text.segment` — :func:`plan_split` (udh / sar / payload) and :func:`preview`.
* :mod:`~smppgate.text.udh` — the 6-octet concatenation UDH and a UDH parser.
* :mod:`~smppgate.text.reference` — :class:`ReferenceAllocator` for UDH / SAR references.
* :mod:`~smppgate.text.reassembly` — :class:`Reassembler` for multi-part MO messages.
* :mod:`~smppgate.text.ussd` — :class:`UssdServiceOp` and :class:`ItsSessionInfo`.
* :mod:`~smppgate.text.receipt` — tolerant delivery-receipt parser, message-id matching keys,
  and the Appendix B formatter the emulator uses.
"""

from smppgate.text.coding import (
    DATA_CODING_BINARY,
    DATA_CODING_DEFAULT,
    DATA_CODING_IA5,
    DATA_CODING_LATIN1,
    DATA_CODING_UCS2,
    DefaultAlphabet,
    Encoding,
    decode,
    encode,
    resolve_encoding,
)
from smppgate.text.errors import (
    ReferencesExhaustedError,
    TextError,
    TooManyPartsError,
    UdhError,
    UnencodableTextError,
    UnsupportedDataCodingError,
)
from smppgate.text.gsm7 import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    decode_gsm7,
    encode_gsm7,
    is_gsm7,
    non_gsm7_characters,
    pack_septets,
    septet_count,
    unpack_septets,
)
from smppgate.text.reassembly import (
    AssembledMessage,
    AssemblyStatus,
    ConcatKey,
    ConcatPart,
    Reassembler,
    concatenation_of,
)
from smppgate.text.receipt import (
    DeliveryState,
    Receipt,
    canonical_message_id,
    format_receipt,
    message_id_keys,
    message_ids_match,
    parse_receipt,
    parse_receipt_date,
)
from smppgate.text.reference import ReferenceAllocator
from smppgate.text.segment import (
    DEFAULT_MAX_PARTS,
    Capacity,
    Part,
    Preview,
    Sar,
    SplitMethod,
    SplitPlan,
    Unit,
    capacity,
    plan_split,
    preview,
)
from smppgate.text.udh import (
    ESM_CLASS_UDHI,
    Concatenation,
    InformationElement,
    concatenation_udh,
    find_concatenation,
    split_udh,
)
from smppgate.text.ussd import ItsSessionInfo, UssdServiceOp

__all__ = [
    "DATA_CODING_BINARY",
    "DATA_CODING_DEFAULT",
    "DATA_CODING_IA5",
    "DATA_CODING_LATIN1",
    "DATA_CODING_UCS2",
    "DEFAULT_MAX_PARTS",
    "ESM_CLASS_UDHI",
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "AssembledMessage",
    "AssemblyStatus",
    "Capacity",
    "ConcatKey",
    "ConcatPart",
    "Concatenation",
    "DefaultAlphabet",
    "DeliveryState",
    "Encoding",
    "InformationElement",
    "ItsSessionInfo",
    "Part",
    "Preview",
    "Reassembler",
    "Receipt",
    "ReferenceAllocator",
    "ReferencesExhaustedError",
    "Sar",
    "SplitMethod",
    "SplitPlan",
    "TextError",
    "TooManyPartsError",
    "UdhError",
    "UnencodableTextError",
    "Unit",
    "UnsupportedDataCodingError",
    "UssdServiceOp",
    "canonical_message_id",
    "capacity",
    "concatenation_of",
    "concatenation_udh",
    "decode",
    "decode_gsm7",
    "encode",
    "encode_gsm7",
    "find_concatenation",
    "format_receipt",
    "is_gsm7",
    "message_id_keys",
    "message_ids_match",
    "non_gsm7_characters",
    "pack_septets",
    "parse_receipt",
    "parse_receipt_date",
    "plan_split",
    "preview",
    "resolve_encoding",
    "septet_count",
    "split_udh",
    "unpack_septets",
]
