"""Destinations as people type them, read by a country's dial plan, to international digits.

``8 900 123-45-67``, ``+7 (900) 123 45 67``, ``007 900 123 45 67``, ``8-900-...`` and
``79001234567`` all become ``79001234567``: E.164 digits without ``+``, what the platform
wants in destination_addr (TON 1 / NPI 1). Anything that is not a plausible number raises
`NumberError` with the rule it breaks and what to write instead.

How digits without ``+`` are read, first rule that applies:

1. an international prefix of the plan (``810``, ``00``): the rest is international;
2. the trunk prefix (``8``) and a national number of the plan's country: that country;
3. the country code and a national number (``7 900 ...``): as written;
4. a national number alone (``900 123 45 67``): the plan's country;
5. otherwise the digits are an international number as written (``44 20 7946 0958``).

A national number is one of the plan's lengths beginning with one of its first digits
(Russia: 10 digits from 3, 4, 7, 8 or 9). Digits that read both ways are read as the plan's
country (``8 491 234 56 78`` is Ryazan, not the Vietnamese ``+84 912 345 678``): a foreign
number is written with ``+`` or an international prefix. So `normalize` gives back every
number of the plan's country unchanged, but not every foreign one; `international` reads
digits as international only and gives back everything either function returns.

An international number is 7..15 digits (E.164; Niue and Saint Helena have 7) beginning with
an assigned country code; one of the plan's own country must also be a national number of
it (``+7 900 123 45 67 8`` is refused). Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from smppgate.numbers.countries import COUNTRY_CODES, country_code_of
from smppgate.numbers.errors import NumberError, NumberProblem

__all__ = ["E164_DIGITS", "RUSSIA", "DialPlan", "international", "national", "normalize"]

#: digits of an international number (E.164: at most 15; the shortest in use have 7)
E164_DIGITS = (7, 15)
#: characters of input read at most: a number is never longer, and a megabyte of spaces
#: must not cost a megabyte of work
MAX_INPUT = 64
#: written between digits and dropped: spaces (any), ASCII dash, dot, brackets, slash; Unicode
#: dashes (category Pd) and the minus sign; invisible format characters (category Cf: the
#: direction marks a phone's contact list copies along)
_SEPARATORS = frozenset("-.()/\u2212")
_PLUS = frozenset("+\uff0b")  # and the fullwidth plus of an East Asian keyboard
#: ``+44 (0)20 ...``: the trunk 0 some write after the country code, in brackets
_BRACKETED_TRUNK = re.compile(r"\(\s*0\s*\)")


@dataclass(frozen=True, slots=True)
class DialPlan:
    """How people of one country write numbers: its ``country_code``, the ``trunk_prefix``
    dialled before a national number (Russia ``8``; ``""`` none), the
    ``international_prefixes`` dialled before a foreign one (``810``, ``00``), and what a
    national number is: its ``national_lengths`` and the ``national_first_digits`` it may
    begin with (``""``: any)."""

    country_code: str = "7"
    trunk_prefix: str = "8"
    international_prefixes: tuple[str, ...] = ("810", "00")
    national_lengths: tuple[int, ...] = (10,)
    national_first_digits: str = "34789"

    def __post_init__(self) -> None:
        if self.country_code not in COUNTRY_CODES:
            raise ValueError(f"country_code {self.country_code!r} is no E.164 country code")
        named = [("trunk_prefix", self.trunk_prefix),
                 ("national_first_digits", self.national_first_digits)]  # fmt: skip
        named += [("international_prefixes", p) for p in self.international_prefixes]
        for name, value in named:
            if not (value.isascii() and value.isdigit()) and value != "":
                raise ValueError(f"{name}: digits only, got {value!r}")
        if any(not p for p in self.international_prefixes):
            raise ValueError("international_prefixes: an empty prefix would read every number")
        low, high = E164_DIGITS
        if not self.national_lengths or any(
            not low <= len(self.country_code) + n <= high for n in self.national_lengths
        ):
            raise ValueError(
                f"national_lengths: the country code and a national number make {low}..{high} "
                f"digits; got {list(self.national_lengths)}"
            )
        # longest first: ``810`` before a hypothetical ``8``
        ordered = tuple(sorted(self.international_prefixes, key=len, reverse=True))
        object.__setattr__(self, "international_prefixes", ordered)

    def is_national(self, digits: str) -> bool:
        """Whether ``digits`` are a national number of the plan's country (no trunk prefix)."""
        return len(digits) in self.national_lengths and (
            not self.national_first_digits or digits[:1] in self.national_first_digits
        )

    def example(self) -> str:
        """A national number as people write it, for messages: ``8 900 123 45 67``."""
        national = "9001234567890123"[: self.national_lengths[0]]
        if len(national) == 10:  # grouped as in Russia, where the plan is usually used
            national = f"{national[:3]} {national[3:6]} {national[6:8]} {national[8:]}"
        trunk = f"{self.trunk_prefix} " if self.trunk_prefix else ""
        return f"{trunk}{national}"


#: the default: Russia (and Kazakhstan, which shares +7)
RUSSIA = DialPlan()


def normalize(value: str, plan: DialPlan = RUSSIA) -> str:
    """International digits without ``+`` for a number as a person of ``plan``'s country
    types it; `NumberError` when it is not a plausible one."""
    if value.isascii() and value.isdigit() and len(value) <= MAX_INPUT:
        plus, digits = False, value  # the hot path: already digits
    else:
        plus, digits = _digits(value)
    if plus:
        return _international(digits, value, plan)
    for prefix in plan.international_prefixes:
        if digits.startswith(prefix) and len(digits) > len(prefix):
            return _international(
                digits[len(prefix) :], value, plan, f"after the international prefix {prefix}, "
            )
    cc, trunk = plan.country_code, plan.trunk_prefix
    if trunk and digits.startswith(trunk) and plan.is_national(digits[len(trunk) :]):
        return cc + digits[len(trunk) :]
    if digits.startswith(cc) and plan.is_national(digits[len(cc) :]):
        return digits
    if plan.is_national(digits):
        return cc + digits
    try:
        return _international(digits, value, plan, hint=False)
    except NumberError as exc:
        if trunk and digits.startswith(trunk):
            lengths = " or ".join(map(str, plan.national_lengths))
            raise NumberError(
                exc.problem,
                value,
                f"{value!r} is neither the trunk prefix {trunk} and a national number of "
                f"+{cc} ({lengths} digits, e.g. {plan.example()}) nor an international "
                f"number: {exc.message}",
            ) from None
        raise


def international(value: str, plan: DialPlan | None = None) -> str:
    """International digits without ``+`` for a number already in international format
    (``+`` optional: no national reading). Gives back every output of `normalize` and of
    itself unchanged. With ``plan``, a number of its country must be a national number."""
    if value.isascii() and value.isdigit() and len(value) <= MAX_INPUT:
        return _international(value, value, plan)
    return _international(_digits(value)[1], value, plan)


def national(value: str, plan: DialPlan = RUSSIA) -> str:
    """International digits for a national number of ``plan``'s country (the trunk prefix
    optional: ``900 123 45 67``, ``8 900 123 45 67``), as SMPP's TON 2 (national) means it;
    `NumberError` for anything else."""
    plus, digits = _digits(value)
    trunk = plan.trunk_prefix
    if not plus:
        if plan.is_national(digits):
            return plan.country_code + digits
        if trunk and digits.startswith(trunk) and plan.is_national(digits[len(trunk) :]):
            return plan.country_code + digits[len(trunk) :]
    lengths = " or ".join(map(str, plan.national_lengths))
    raise NumberError(
        NumberProblem.WRONG_NATIONAL_NUMBER,
        value,
        f"{value!r} is no national number of +{plan.country_code} ({lengths} digits, the "
        f"trunk prefix optional, e.g. {plan.example()})",
    )


def _international(
    digits: str, value: str, plan: DialPlan | None, where: str = "", *, hint: bool = True
) -> str:
    low, high = E164_DIGITS
    if len(digits) < low:
        raise NumberError(
            NumberProblem.TOO_SHORT,
            value,
            f"{where}an international number has {low} to {high} digits, {value!r} has "
            f"{len(digits)}",
        )
    if len(digits) > high:
        raise NumberError(
            NumberProblem.TOO_LONG,
            value,
            f"{where}an international number has {low} to {high} digits (E.164), {value!r} "
            f"has {len(digits)}",
        )
    cc = country_code_of(digits)
    if cc is None:
        advice = ""
        if hint and plan is not None and plan.trunk_prefix and digits.startswith(plan.trunk_prefix):
            advice = (
                f"; a national number is written without + ({plan.example()}) or as "
                f"+{plan.country_code} {plan.example()[len(plan.trunk_prefix) + 1 :]}"
            )
        raise NumberError(
            NumberProblem.UNKNOWN_COUNTRY_CODE,
            value,
            f"{where}no country calling code begins {digits[:3]}... in {value!r}{advice}",
        )
    if plan is not None and cc == plan.country_code:
        national = digits[len(cc) :]
        if not plan.is_national(national):
            lengths = " or ".join(map(str, plan.national_lengths))
            if len(national) not in plan.national_lengths:
                problem = (
                    NumberProblem.TOO_SHORT
                    if len(national) < min(plan.national_lengths)
                    else NumberProblem.TOO_LONG
                )
                detail = f"{lengths} digits follow +{cc}, {value!r} has {len(national)}"
            else:
                problem = NumberProblem.WRONG_NATIONAL_NUMBER
                detail = (
                    f"a number of +{cc} begins with {', '.join(plan.national_first_digits)} "
                    f"after the {cc}, {value!r} with {national[0]}"
                )
            raise NumberError(problem, value, f"{where}{detail}")
    return digits


def _digits(value: str) -> tuple[bool, str]:
    """(whether a ``+`` leads, the digits) of a number with separators; ``NumberError`` for
    anything else in it."""
    if len(value) > MAX_INPUT:
        raise NumberError(
            NumberProblem.TOO_LONG,
            value[:MAX_INPUT],
            f"{len(value)} characters: a phone number is never longer than {MAX_INPUT}",
        )
    text = value.strip()
    offset = len(value) - len(value.lstrip())  # positions count from the value's start
    if text[:1] in _PLUS:
        text = _BRACKETED_TRUNK.sub("", text)
    plus = False
    digits: list[str] = []
    for position, ch in enumerate(text, offset + 1):
        if ch.isdecimal():
            digits.append(str(unicodedata.decimal(ch)))
        elif ch in _PLUS:
            if plus or digits:
                raise NumberError(
                    NumberProblem.MISPLACED_PLUS,
                    value,
                    f"+ only once, at the start (+79001234567); {value!r} has one at "
                    f"position {position}",
                )
            plus = True
        elif ch.isspace() or ch in _SEPARATORS or unicodedata.category(ch) in ("Pd", "Cf"):
            continue
        elif ch.isalpha():
            raise NumberError(
                NumberProblem.LETTERS,
                value,
                f"letters are not part of a number: {ch!r} at position {position} of {value!r}",
            )
        else:
            raise NumberError(
                NumberProblem.BAD_CHARACTER,
                value,
                f"{ch!r} (U+{ord(ch):04X}) at position {position} of {value!r} is not part "
                "of a number: digits, with spaces, dashes, dots or brackets between them and "
                "+ at the start",
            )
    if not digits:
        message = "must not be empty" if not text else f"no digits in {value!r}"
        raise NumberError(NumberProblem.EMPTY, value, message)
    return plus, "".join(digits)
