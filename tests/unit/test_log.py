"""Structured log lines: one line per event, ids as fields, secrets never written."""

from __future__ import annotations

import json
import logging

import pytest

from webapp.core import log
from webapp.settings import load_settings


def _line(fmt: str, capsys: pytest.CaptureFixture[str], **fields: object) -> str:
    log.configure("INFO", fmt)
    try:
        log.log_event(logging.getLogger("pictorium.test"), "sync.done", **fields)
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "pictorium", False):
                logging.getLogger().removeHandler(handler)
    return capsys.readouterr().err.strip()


def test_json_line_carries_event_and_ids(capsys: pytest.CaptureFixture[str]) -> None:
    payload = json.loads(_line("json", capsys, storage_id=3, run_id=17, reason="two words"))
    assert payload["event"] == "sync.done"
    assert payload["logger"] == "pictorium.test"
    assert payload["level"] == "INFO"
    assert (payload["storage_id"], payload["run_id"], payload["reason"]) == (3, 17, "two words")


def test_text_line_quotes_values_with_spaces(capsys: pytest.CaptureFixture[str]) -> None:
    line = _line("text", capsys, storage_id=3, reason="two words")
    assert ' INFO pictorium.test sync.done storage_id=3 reason="two words"' in line


@pytest.mark.parametrize("name", ["password", "api_key", "secret_key", "token", "key_hash"])
def test_secret_fields_are_never_written(capsys: pytest.CaptureFixture[str], name: str) -> None:
    payload = json.loads(_line("json", capsys, **{name: "hunter2-very-secret"}))
    assert payload[name] == "***"


def test_log_settings_are_checked() -> None:
    settings = load_settings({"DATA_DIR": "/tmp/x", "SECRET_KEY": "k", "LOG_LEVEL": "debug"})
    assert (settings.log_level, settings.log_format) == ("DEBUG", "text")
    assert load_settings({"SECRET_KEY": "k", "LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(ValueError, match="LOG_FORMAT must be one of text, json"):
        load_settings({"SECRET_KEY": "k", "LOG_FORMAT": "xml"})
