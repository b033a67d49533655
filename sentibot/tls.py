"""One TLS trust store per process, shared by every httpx client (the sources' and the Bot API's)."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying client context httpx would build (certifi's CA bundle), built once.

    Loading the bundle costs tens of milliseconds; httpx and PTB load it again for every client they create
    unless they are handed a context. An SSLContext is safe to share between clients and threads.
    """
    import certifi  # httpx's own dependency: the same bundle httpx uses by default

    return ssl.create_default_context(cafile=certifi.where())
