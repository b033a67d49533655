"""The one logging setup and the one redaction: secrets never reach a log line, whichever handler writes it."""

from __future__ import annotations

import dataclasses
import logging

from sentibot.config import Secret, Settings

LOG_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
CHATTY = ("httpx", "httpcore", "apscheduler")  # httpx logs every request URL at INFO, and the Bot API URL holds the token

_SECRETS: set[str] = set()
_installed = False


def redact(text: str) -> str:
    """text with every protected secret replaced by ***."""
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    return text


def protect(*secrets: str) -> None:
    """Redact these values from every log record created from now on (message, arguments and traceback)."""
    global _installed
    _SECRETS.update(str(s) for s in secrets if s)
    if _installed or not _SECRETS:
        return
    previous = logging.getLogRecordFactory()

    # at record creation, not in a handler's filter: caplog, basicConfig's handler and any library handler all
    # receive the redacted record
    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        message = record.getMessage()
        if any(secret in message for secret in _SECRETS):
            record.msg, record.args = redact(message), ()
        if record.exc_info and record.exc_info[1] is not None:
            # formatters reuse exc_text when set, so the traceback is redacted once here
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def protect_token(token: str) -> None:
    """Redact the bot token from every log record, and keep httpx/httpcore (which log request URLs) at WARNING."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    protect(token)


def settings_secrets(settings: Settings) -> list[str]:
    """Every setting declared secret (the bot token, cookies, keys)."""
    values = (getattr(settings, f.name) for f in dataclasses.fields(settings))
    return [str(v) for v in values if isinstance(v, Secret) and v]


def configure_logging(settings: Settings) -> None:
    """key=value lines on stderr at SENTIBOT_LOG_LEVEL; every secret setting redacted; chatty libraries quietened."""
    protect(*settings_secrets(settings))
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    for name in CHATTY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
