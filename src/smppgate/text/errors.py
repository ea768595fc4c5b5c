"""The text layer's errors: one base class, typed attributes, no meaning hidden in ``args``."""

from __future__ import annotations

__all__ = [
    "ReferencesExhaustedError",
    "TextError",
    "TooManyPartsError",
    "UdhError",
    "UnencodableTextError",
    "UnsupportedDataCodingError",
]


class TextError(Exception):
    """Base class of every error raised by ``smppgate.text``."""


class UnencodableTextError(TextError, ValueError):
    """The text holds a character the requested coding cannot carry.

    Raised instead of substituting '?': a message must never change silently on its way out.
    """

    def __init__(self, character: str, index: int, encoding: str) -> None:
        self.character = character
        self.index = index
        self.encoding = encoding
        super().__init__(
            f"character {character!r} (U+{ord(character):04X}) at index {index} "
            f"cannot be encoded as {encoding}"
        )


class TooManyPartsError(TextError, ValueError):
    """Splitting would need more parts than allowed."""

    def __init__(self, parts: int, max_parts: int) -> None:
        self.parts = parts
        self.max_parts = max_parts
        super().__init__(f"text needs {parts} parts, at most {max_parts} allowed")


class UnsupportedDataCodingError(TextError, ValueError):
    """A data_coding value this layer cannot turn into text (reserved or exotic)."""

    def __init__(self, data_coding: int) -> None:
        self.data_coding = data_coding
        super().__init__(f"data_coding 0x{data_coding:02X} is not supported for text")


class UdhError(TextError, ValueError):
    """A user data header that is not well formed."""


class ReferencesExhaustedError(TextError, RuntimeError):
    """Every concatenation reference for one destination is in flight."""

    def __init__(self, destination: str, modulus: int) -> None:
        self.destination = destination
        self.modulus = modulus
        super().__init__(f"all {modulus} references to {destination!r} are in flight")
