"""A minimal SOCKS5 relay on 127.0.0.1 (RFC 1928: no authentication, CONNECT only) for the Bot API proxy tests."""

from __future__ import annotations

import asyncio
import socket
import struct


class Socks5Relay:
    """`async with Socks5Relay() as relay`: relays CONNECTs to loopback targets and counts them."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    async def __aenter__(self) -> Socks5Relay:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def url(self) -> str:
        return f"socks5://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._tasks.add(asyncio.current_task())
        try:
            _, n = await reader.readexactly(2)
            await reader.readexactly(n)
            writer.write(b"\x05\x00")  # no authentication
            _, cmd, _, kind = await reader.readexactly(4)
            if kind == 1:
                host = socket.inet_ntoa(await reader.readexactly(4))
            elif kind == 3:
                host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
            else:
                raise ConnectionError("IPv6 targets are not relayed")
            port = struct.unpack("!H", await reader.readexactly(2))[0]
            if cmd != 1 or host not in ("127.0.0.1", "localhost"):  # loopback only: no test may leave the machine
                writer.write(b"\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00")
                return
            self.connects.append((host, port))
            up_reader, up_writer = await asyncio.open_connection(host, port)
            writer.write(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack("!H", port))
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(asyncio.current_task())
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
