import re
from datetime import timedelta

DURATION_PATTERN = r"^[1-9][0-9]*[smhdw]$"
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """'90s', '30m', '24h', '7d' or '2w' as a timedelta."""
    if not re.fullmatch(DURATION_PATTERN, text or ""):
        raise ValueError(f"{text!r} is not a duration such as 30m, 24h or 7d")
    return timedelta(**{_UNITS[text[-1]]: int(text[:-1])})


def spoken(seconds: float, *, tenths: bool = True) -> str:
    """A short span as people read it: "4.2 s" (or "4 s" without `tenths`) under a minute,
    else "3 min 5 s"."""
    if seconds < 60:
        return f"{seconds:.1f} s" if tenths else f"{int(seconds)} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


# No run may take longer than this: Redis' visibility timeout (settings) is set above it, so
# that a long run's message is never redelivered while the run goes on (core.checks).
MAX_RUN_TIME = timedelta(hours=5)
