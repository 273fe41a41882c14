"""How the console tools turn records into lines and lines into records: Kafka's ``DefaultMessageFormatter``
(``kafka-console-consumer --property print.key=true ...``) and ``LineMessageReader``
(``kafka-console-producer --property parse.key=true ...``). Pure: bytes in, bytes out.

Formatter columns, in Kafka's order, each followed by ``key.separator`` (default TAB) when another column
follows and by ``line.separator`` (default ``\\n``) after the last one::

    CreateTime:1600000000000  Partition:0  Offset:42  h1:v1,h2:v2  key  value

``print.timestamp`` / ``print.partition`` / ``print.offset`` / ``print.headers`` / ``print.key`` are off and
``print.value`` is on by default; a null key, value or header value prints ``null.literal`` (``null``); a
record without headers prints ``NO_HEADERS``. Key and value bytes are written as they are (Kafka's default
ByteArrayDeserializer), so any encoding survives a round trip.

Reader: one record per line (the line without ``\\n`` or ``\\r\\n``). With ``parse.key=true`` the line is
split at the first ``key.separator`` (default TAB); a line without it is an error naming the line, unless
``ignore.error=true`` (then the whole line is the value and the key is null, as Kafka does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

Header = tuple[str, bytes | None]

FORMATTER_PROPERTIES = ("print.timestamp", "print.key", "print.value", "print.partition", "print.offset",
                        "print.headers", "key.separator", "line.separator", "headers.separator",
                        "null.literal")
READER_PROPERTIES = ("parse.key", "key.separator", "ignore.error")
TIMESTAMP_TYPES = {0: "CreateTime", 1: "LogAppendTime"}


class PropertyError(ValueError):
    """A ``--property`` the tool cannot use; the message says what would be right."""


def parse_assignments(items: Iterable[str], option: str) -> dict[str, str]:
    """``["k=v", "k2=v2"]`` → dict, in order (a later key wins). Raises :class:`PropertyError`."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PropertyError(f"{option} {item!r} is not KEY=VALUE (for example {option} print.key=true)")
        out[key.strip()] = value
    return out


def _bool(props: Mapping[str, str], name: str, default: bool) -> bool:
    """Kafka's rule: ``true`` (any case, trimmed) is true; anything else given is false."""
    value = props.get(name)
    return default if value is None else value.strip().lower() == "true"


def _unescape(text: str) -> bytes:
    """Separators given on a shell line as ``\\t`` or ``\\n`` mean the control character."""
    for escaped, char in (("\\t", "\t"), ("\\n", "\n"), ("\\r", "\r")):
        text = text.replace(escaped, char)
    return text.encode("utf-8")


def _check_known(props: Mapping[str, str], known: Sequence[str], what: str) -> None:
    unknown = [k for k in props if k not in known]
    if unknown:
        raise PropertyError(f"unknown {what} property {unknown[0]!r} (known: {', '.join(known)})")


@dataclass(frozen=True)
class MessageFormatter:
    """Kafka's DefaultMessageFormatter settings; :meth:`format` renders one record."""

    print_timestamp: bool = False
    print_key: bool = False
    print_value: bool = True
    print_partition: bool = False
    print_offset: bool = False
    print_headers: bool = False
    key_separator: bytes = b"\t"
    line_separator: bytes = b"\n"
    headers_separator: bytes = b","
    null_literal: bytes = b"null"

    @classmethod
    def from_properties(cls, props: Mapping[str, str]) -> "MessageFormatter":
        """From ``--property`` values. Raises :class:`PropertyError` for an unknown name."""
        _check_known(props, FORMATTER_PROPERTIES, "formatter")
        d = cls()
        return cls(
            print_timestamp=_bool(props, "print.timestamp", d.print_timestamp),
            print_key=_bool(props, "print.key", d.print_key),
            print_value=_bool(props, "print.value", d.print_value),
            print_partition=_bool(props, "print.partition", d.print_partition),
            print_offset=_bool(props, "print.offset", d.print_offset),
            print_headers=_bool(props, "print.headers", d.print_headers),
            key_separator=_unescape(props["key.separator"]) if "key.separator" in props else d.key_separator,
            line_separator=(_unescape(props["line.separator"]) if "line.separator" in props
                            else d.line_separator),
            headers_separator=(_unescape(props["headers.separator"]) if "headers.separator" in props
                               else d.headers_separator),
            null_literal=props["null.literal"].encode("utf-8") if "null.literal" in props else d.null_literal,
        )

    def format(self, partition: int, offset: int, timestamp: int, timestamp_type: int,
               key: bytes | None, value: bytes | None, headers: Sequence[Header] = ()) -> bytes:
        columns: list[bytes] = []
        if self.print_timestamp:
            name = TIMESTAMP_TYPES.get(timestamp_type)
            no_timestamp = name is None or timestamp < 0
            columns.append(b"NO_TIMESTAMP" if no_timestamp else f"{name}:{timestamp}".encode())
        if self.print_partition:
            columns.append(f"Partition:{partition}".encode())
        if self.print_offset:
            columns.append(f"Offset:{offset}".encode())
        if self.print_headers:
            columns.append(self.headers_separator.join(
                k.encode("utf-8") + b":" + (self.null_literal if v is None else v) for k, v in headers)
                if headers else b"NO_HEADERS")
        if self.print_key:
            columns.append(self.null_literal if key is None else key)
        if self.print_value:
            columns.append(self.null_literal if value is None else value)
        return self.key_separator.join(columns) + self.line_separator if columns else b""


class LineError(ValueError):
    """A stdin line that cannot become a record (Kafka: "No key found on line N")."""


@dataclass(frozen=True)
class LineReader:
    """Kafka's LineMessageReader settings; :meth:`parse` turns one line into ``(key, value)``."""

    parse_key: bool = False
    key_separator: bytes = b"\t"
    ignore_error: bool = False

    @classmethod
    def from_properties(cls, props: Mapping[str, str]) -> "LineReader":
        _check_known(props, READER_PROPERTIES, "line reader")
        sep = _unescape(props["key.separator"]) if "key.separator" in props else b"\t"
        if not sep:
            raise PropertyError("key.separator must not be empty (for example --property key.separator=:)")
        return cls(_bool(props, "parse.key", False), sep, _bool(props, "ignore.error", False))

    def parse(self, line: bytes, number: int) -> tuple[bytes | None, bytes]:
        """``(key, value)`` of one line (end of line already removed). Raises :class:`LineError`."""
        if not self.parse_key:
            return None, line
        key, sep, value = line.partition(self.key_separator)
        if sep:
            return key, value
        if self.ignore_error:
            return None, line
        shown = line[:60].decode("utf-8", "replace")
        separator = self.key_separator.decode("utf-8", "replace")
        raise LineError(f"No key found on line {number}: {shown!r} (expected KEY{separator}VALUE, "
                        f"or --property ignore.error=true to send it with a null key)")


def strip_eol(line: bytes) -> bytes:
    if line.endswith(b"\n"):
        line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
    return line
