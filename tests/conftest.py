"""Shared test setup: a guard that fails any test resolving or connecting to a non-loopback host."""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", ""}
_attempts: list[str] = []  # remote attempts of the running test, even if the code under test swallowed the error


def _is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host is None or str(host) in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what: str, host) -> None:
    host = host.decode() if isinstance(host, bytes) else host
    _attempts.append(f"{what} {host}")
    raise ConnectionRefusedError(f"test tried to {what} a non-loopback host {host}")


class _GuardedSocket(socket.socket):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            _refuse("connect to", address[0])
        return super().connect(address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            _refuse("connect to", address[0])
        return super().connect_ex(address)


@pytest.fixture(autouse=True)
def no_remote_hosts(monkeypatch):
    """Every test: resolving or connecting to anything but loopback fails the test (at teardown if swallowed)."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            _refuse("resolve", host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "socket", _GuardedSocket)
    _attempts.clear()
    yield
    attempts, _attempts[:] = list(_attempts), []
    assert not attempts, f"test reached for remote hosts: {attempts}"


@pytest.fixture(autouse=True, scope="session")
def tokenizer_cache_in_a_temporary_directory(tmp_path_factory):
    """The tokenizer cache (sentibot.text.tokenizer) goes to a directory of this run, shared with the processes tests start,
    never to the user's ~/.cache."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old
