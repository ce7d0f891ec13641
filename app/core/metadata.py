"""Typed thread metadata: parsing `KEY=VALUE` text and the limits every pair must respect."""

from __future__ import annotations

from datetime import date

from app.core.domain import MetaValue
from app.core.errors import InvalidInput

MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 512
MAX_PAIRS = 64


def parse_value(text: str) -> MetaValue:
    """`true`/`false` → bool, a number → int or float, `YYYY-MM-DD` → date, anything else → the string itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if number == number and number not in (float("inf"), float("-inf")):  # not NaN or infinite
            return int(number) if number.is_integer() and "." not in text and "e" not in lowered else number
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return text


def parse_pair(text: str) -> tuple[str, MetaValue]:
    key, separator, value = text.partition("=")
    if not separator:
        raise InvalidInput(f"metadata must be KEY=VALUE, got {text!r}")
    key = key.strip()
    validate(key, value)
    return key, parse_value(value)


def validate(key: str, value: object) -> None:
    if not key:
        raise InvalidInput("a metadata key cannot be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"metadata key {key[:20]!r}… is {len(key)} characters; the limit is {MAX_KEY_LENGTH}")
    text = encode(value)[1]
    if len(text) > MAX_VALUE_LENGTH:
        raise InvalidInput(f"the value of {key!r} is {len(text)} characters; the limit is {MAX_VALUE_LENGTH}")


def encode(value: MetaValue) -> tuple[str, str]:
    """(type, text) as stored; numbers are normalised so 3 and 3.0 compare equal."""
    if isinstance(value, bool):
        return "bool", "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        return "number", str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, date):
        return "date", value.isoformat()
    return "string", str(value)


def decode(kind: str, text: str) -> MetaValue:
    if kind == "bool":
        return text == "true"
    if kind == "number":
        number = float(text)
        return int(number) if number.is_integer() else number
    if kind == "date":
        return date.fromisoformat(text)
    return text
