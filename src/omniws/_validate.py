"""Validation helpers of the config classes: each failure is a ConfigError naming the field."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from .errors import ConfigError

__all__ = ["TOKEN", "Duration", "is_header_text", "positive_int", "seconds"]

Duration = float | int | timedelta
"""What a duration option accepts: seconds (int or float) or a :class:`datetime.timedelta`."""

TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
"""RFC 7230 token characters: subprotocol names and header names must be tokens."""


def seconds(
    name: str, value: object, *, allow_none: bool, allow_zero: bool = False
) -> float | None:
    """``value`` as float seconds, or ConfigError naming ``name`` and the fix."""
    if value is None:
        if allow_none:
            return None
        raise ConfigError(name, "must be a number of seconds, not None")
    if isinstance(value, timedelta):
        result = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
    else:
        raise ConfigError(name, f"must be seconds (float) or a timedelta, got {value!r}")
    if not math.isfinite(result):
        raise ConfigError(name, f"must be a finite duration, got {value!r}")
    if result < 0 or (result == 0 and not allow_zero):
        limit = "zero or more" if allow_zero else "greater than zero"
        hint = "; use None to disable it" if allow_none else ""
        raise ConfigError(name, f"must be {limit} seconds, got {value!r}{hint}")
    return result


def positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    """``value`` if it is an int of at least ``minimum``, else ConfigError naming ``name``."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(name, f"must be an integer >= {minimum}, got {value!r}")
    return value


def is_header_text(value: object) -> bool:
    """A str that can go into an HTTP header: no CR, LF or NUL, and encodable as UTF-8."""
    if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True
