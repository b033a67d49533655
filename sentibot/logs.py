"""Keeps secrets out of logs: quiet the HTTP loggers and redact the bot token from every log record."""

from __future__ import annotations

import logging

_SECRETS: set[str] = set()
_installed = False


def _redact(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return text


def protect_token(token: str) -> None:
    """Redact token from every record created from now on; httpx/httpcore log request URLs, which hold it."""
    global _installed
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if not token:
        return
    _SECRETS.add(str(token))
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        message = record.getMessage()
        if any(secret in message for secret in _SECRETS):
            record.msg, record.args = _redact(message), ()
        if record.exc_info and record.exc_info[1] is not None:
            # formatters reuse exc_text when set, so the traceback is redacted once here
            record.exc_text = _redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
