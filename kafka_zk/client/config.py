"""Kafka's dotted configuration names (``linger.ms``) for the client's keyword arguments (``linger_ms``).

Users come with ``producer.properties`` files and Java/librdkafka snippets; accepting those names verbatim
saves a translation step and its typos. A name is normalized by replacing ``.`` and ``-`` with ``_``; a name
that is still unknown is an error naming the closest known one — a silently ignored misspelt option
(``linger.msec``) would be the worst outcome, since the producer would run with the default.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable, Mapping


def normalize_name(name: str) -> str:
    """``"max.in.flight.requests.per.connection"`` -> ``"max_in_flight_requests_per_connection"``."""
    return name.replace(".", "_").replace("-", "_")


def normalize_options(options: Mapping[str, Any], known: Iterable[str], what: str) -> dict[str, Any]:
    """``options`` with normalized names; raises ValueError for a name ``what`` (e.g. "producer") lacks."""
    known_set = set(known)
    out: dict[str, Any] = {}
    for raw, value in options.items():
        name = normalize_name(raw)
        if name not in known_set:
            close = difflib.get_close_matches(name, sorted(known_set), n=1)
            hint = f"; did you mean {close[0].replace('_', '.')!r}?" if close else ""
            raise ValueError(f"unknown {what} config {raw!r}{hint}")
        out[name] = value
    return out


def as_bool(name: str, value: Any) -> bool:
    """Properties files carry ``"true"``/``"false"`` strings; accept those and real booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"{name} must be true or false, got {value!r}")
