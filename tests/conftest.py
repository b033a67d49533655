"""Shared test setup: a guard that fails any test resolving or connecting to a non-loopback host."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", ""}


def _is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if host is None or str(host) in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


class _GuardedSocket(socket.socket):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise AssertionError(f"test tried to reach a non-loopback host {address[0]}")
        return super().connect(address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise AssertionError(f"test tried to reach a non-loopback host {address[0]}")
        return super().connect_ex(address)


@pytest.fixture(autouse=True)
def no_remote_hosts(monkeypatch):
    """Every test: resolving or connecting to anything but loopback fails the test."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            raise AssertionError(f"test tried to resolve a non-loopback host {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "socket", _GuardedSocket)

