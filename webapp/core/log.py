"""Structured logging: one line per job, run outcome, refusal and state change.

`log_event(logger, "sync.done", storage_id=3, run_id=17, new=12)` writes one line: with
LOG_FORMAT=json a JSON object (`{"ts": ..., "level": ..., "logger": ..., "event": ...,
"storage_id": 3, ...}`), with LOG_FORMAT=text (the default) `sync.done storage_id=3 run_id=17
new=12`. Fields carry ids and counts, never secrets: a field whose name looks like a secret
is written as "***" whatever the caller passed."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("text", "json")
_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "credential", "key_hash")


def _redacted(name: str, value: Any) -> Any:
    lowered = name.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return "***"
    return value


def log_event(
    logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: Any
) -> None:
    if logger.isEnabledFor(level):
        clean = {k: _redacted(k, v) for k, v in fields.items()}
        logger.log(level, event, extra={"pictorium_fields": clean})


def _text_value(value: Any) -> str:
    text = str(value)
    if not text or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text)
    return text


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "pictorium_fields", {})
        line = " ".join(
            [
                datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                record.levelname,
                record.name,
                record.getMessage(),
                *(f"{k}={_text_value(v)}" for k, v in fields.items()),
            ]
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        for k, v in getattr(record, "pictorium_fields", {}).items():
            payload.setdefault(k, v)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Points the root logger at stderr in the chosen format (called once per process by
    the command line; calling it again replaces the handler)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "pictorium", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.pictorium = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
