"""Structured, quiet-by-default logging.

Every line is ``<time> <LEVEL> <logger> <message> key=value ...`` (logfmt), or one JSON object per line with
``--log-format json``. Call sites pass fields as keyword arguments::

    log = get_logger(__name__)
    log.info("leader elected", topic="orders", partition=0, leader=2, leader_epoch=5)
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_FIELDS = "kz_fields"


def _fmt_value(v: Any) -> str:
    s = v if isinstance(v, str) else json.dumps(v, default=str, separators=(",", ":"))
    if not s or any(c in s for c in ' ="'):
        return json.dumps(s)
    return s


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        parts = [ts, record.levelname, record.name, record.getMessage()]
        fields = getattr(record, _FIELDS, None)
        if fields:
            parts.extend(f"{k}={_fmt_value(v)}" for k, v in fields.items())
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "ts": record.created,
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        obj.update(getattr(record, _FIELDS, None) or {})
        if record.exc_info:
            obj["exc"] = self.formatException(record.exc_info)
        return json.dumps(obj, default=str)


class StructLogger:
    """A thin wrapper over :class:`logging.Logger` that takes fields as keyword arguments."""

    __slots__ = ("_logger",)

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def _log(self, level: int, msg: str, exc_info: Any, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, msg, exc_info=exc_info, extra={_FIELDS: fields}, stacklevel=3)

    def debug(self, msg: str, *, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.DEBUG, msg, exc_info, fields)

    def info(self, msg: str, *, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.INFO, msg, exc_info, fields)

    def warning(self, msg: str, *, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.WARNING, msg, exc_info, fields)

    def error(self, msg: str, *, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.ERROR, msg, exc_info, fields)

    def exception(self, msg: str, **fields: Any) -> None:
        self._log(logging.ERROR, msg, True, fields)


def get_logger(name: str) -> StructLogger:
    return StructLogger(logging.getLogger(name))


def configure(level: str = "WARNING", fmt: str = "logfmt", stream: Any = None) -> None:
    """Configure the root handler once per process (brokers log INFO; CLIs stay at WARNING)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # kazoo is chatty at INFO about every connection state change; our zk bridge logs what matters.
    logging.getLogger("kazoo").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
