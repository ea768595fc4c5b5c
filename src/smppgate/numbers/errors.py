"""The numbers layer's errors: a problem from a closed list, and a message saying what to fix."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["NumberError", "NumberProblem", "SenderError", "SenderProblem"]


class NumberProblem(StrEnum):
    """Why a destination is not a plausible phone number."""

    EMPTY = "empty"
    LETTERS = "letters"
    BAD_CHARACTER = "bad_character"
    MISPLACED_PLUS = "misplaced_plus"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    UNKNOWN_COUNTRY_CODE = "unknown_country_code"
    WRONG_NATIONAL_NUMBER = "wrong_national_number"
    """A national number of the dial plan's country of the wrong length or first digit
    (``8 900 123 45 6``, ``+7 100 ...``)."""


class NumberError(ValueError):
    """``value`` is not a number a message can be sent to; ``problem`` says which rule it
    breaks, ``message`` what to write instead (it quotes the value)."""

    def __init__(self, problem: NumberProblem, value: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.value = value
        self.message = message


class SenderProblem(StrEnum):
    """Why a sender cannot go out under the account's profile."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    BAD_CHARACTER = "bad_character"
    NOT_NUMERIC = "not_numeric"
    """The profile sends this kind of sender as a number (TON 1, 3): a name cannot go."""


class SenderError(ValueError):
    """A sender the profile's addressing cannot carry; ``message`` says what to fix."""

    def __init__(self, problem: SenderProblem, value: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.value = value
        self.message = message
