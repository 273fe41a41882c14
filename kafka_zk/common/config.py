"""Typed configuration definitions in Kafka's style (``org.apache.kafka.common.config.ConfigDef``).

A :class:`ConfigDef` lists keys with their type, default and validator. ``parse()`` turns string properties
(``server.properties``, ``--config k=v``, ``/config/topics/<t>`` znodes) into typed values and raises
:class:`ConfigError` with one line naming the key, what is wrong and what would be right.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

NO_DEFAULT = object()


class ConfigError(ValueError):
    """A bad configuration key or value; ``str()`` is one line fit for a CLI."""


Validator = Callable[[str, Any], None]


def in_range(lo: float | None = None, hi: float | None = None) -> Validator:
    def check(name: str, v: Any) -> None:
        if v is None:
            return
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            bounds = f"[{'' if lo is None else lo}, {'' if hi is None else hi}]"
            raise ConfigError(f"invalid value {v!r} for {name}: must be in {bounds}")

    return check


def one_of(*choices: str) -> Validator:
    def check(name: str, v: Any) -> None:
        values = v if isinstance(v, list) else [v]
        for item in values:
            if item not in choices:
                raise ConfigError(f"invalid value {item!r} for {name}: expected one of {', '.join(choices)}")

    return check


def _to_bool(s: str) -> bool:
    t = s.strip().lower()
    if t in ("true", "false"):
        return t == "true"
    raise ValueError("expected true or false")


_PARSERS: dict[str, Callable[[str], Any]] = {
    "int": lambda s: int(s.strip()),
    "long": lambda s: int(s.strip()),
    "short": lambda s: int(s.strip()),
    "double": lambda s: float(s.strip()),
    "bool": _to_bool,
    "string": lambda s: s.strip(),
    "list": lambda s: [x.strip() for x in s.split(",") if x.strip()],
    "password": lambda s: s,
}


@dataclass(frozen=True)
class ConfigKey:
    name: str
    type: str  # one of _PARSERS
    default: Any
    doc: str = ""
    validator: Validator | None = None

    def parse(self, raw: Any) -> Any:
        if raw is None:
            return None
        if isinstance(raw, str):
            try:
                value = _PARSERS[self.type](raw)
            except ValueError as e:
                raise ConfigError(f"invalid value {raw!r} for {self.name}: expected {self.type} ({e})") from None
        else:
            value = raw
        if self.validator:
            self.validator(self.name, value)
        return value


class ConfigDef:
    def __init__(self, keys: Iterable[ConfigKey] = ()) -> None:
        self.keys: dict[str, ConfigKey] = {}
        for k in keys:
            self.define(k)

    def define(self, key: ConfigKey) -> "ConfigDef":
        self.keys[key.name] = key
        return self

    def names(self) -> list[str]:
        return sorted(self.keys)

    def unknown_key_error(self, name: str) -> ConfigError:
        close = difflib.get_close_matches(name, self.keys, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return ConfigError(f"unknown configuration key '{name}'{hint}")

    def parse(self, props: Mapping[str, Any], *, allow_unknown: bool = False, with_defaults: bool = True) -> dict[str, Any]:
        """Parse ``props``; returns typed values (plus defaults when ``with_defaults``)."""
        out: dict[str, Any] = {}
        for name, raw in props.items():
            key = self.keys.get(name)
            if key is None:
                if allow_unknown:
                    out[name] = raw
                    continue
                raise self.unknown_key_error(name)
            out[name] = key.parse(raw)
        if with_defaults:
            for name, key in self.keys.items():
                if name not in out:
                    if key.default is NO_DEFAULT:
                        raise ConfigError(f"missing required configuration key '{name}'")
                    out[name] = key.default
        return out


def parse_properties(text: str) -> dict[str, str]:
    """Parse Java ``.properties`` text (the subset Kafka configs use: ``k=v`` / ``k: v``, ``#``/``!`` comments,
    trailing-backslash continuation lines)."""
    props: dict[str, str] = {}
    pending = ""
    for raw_line in text.splitlines():
        line = pending + raw_line.strip()
        pending = ""
        if not line or line[0] in "#!":
            continue
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        sep_positions = [i for i in (line.find("="), line.find(":")) if i >= 0]
        if not sep_positions:
            raise ConfigError(f"malformed properties line {raw_line.strip()!r}: expected key=value")
        i = min(sep_positions)
        props[line[:i].strip()] = line[i + 1 :].strip()
    return props


def parse_kv_args(items: Iterable[str], what: str = "--config") -> dict[str, str]:
    """Parse repeated ``k=v`` CLI arguments."""
    out: dict[str, str] = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k.strip():
            raise ConfigError(f"invalid {what} argument {item!r}: expected key=value")
        out[k.strip()] = v.strip()
    return out
