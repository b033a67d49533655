"""Exceptions that end in a one-line message for the user, never a traceback."""


class SentibotError(Exception):
    """Base class: str(exc) is a complete one-line message naming what is wrong."""


class ConfigError(SentibotError):
    """A setting is missing or has a wrong value."""


class InputError(SentibotError):
    """A file, row, argument or response could not be read; nothing from it was stored."""


class StoreError(SentibotError):
    """The SQLite history cannot be opened, read or written."""
