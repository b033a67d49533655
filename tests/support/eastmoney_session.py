"""Eastmoney's session gate on loopback: the webreport answer and the check push2/push2his/emappdata make.

Built from ../shared/SOURCES.md §1 (GustinLau/daily_stock_analysis patch/eastmoney_patch.py at 0b87caf5; akshare
issues #6644, #6656, #6856): webreport answers {"returnCode": "0", "data": {"nid", "gvi"}}; the data hosts drop
the connection, with no response at all, unless the request has nid18 and nid18_create_time cookies and a browser
User-Agent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sentibot.collect.sessions import WEBREPORT_PATH, parse_cookie_header

NID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"  # made up, in the 32-hex shape clients log


def webreport_body(nid: str = NID) -> str:
    return json.dumps({"returnCode": "0", "msg": "success", "data": {"nid": nid, "gvi": "gvi-" + nid[:8]}})


def serve_webreport(httpserver, nid: str = NID) -> None:
    """pytest-httpserver: answer the session step the way webreport does."""
    httpserver.expect_request(WEBREPORT_PATH, method="POST").respond_with_data(
        webreport_body(nid), content_type="application/json")


def admitted(headers: Mapping[str, str], nid: str = NID) -> bool:
    """What the data hosts check before answering at all: the nid18 pair and a browser User-Agent."""
    cookies = parse_cookie_header(headers.get("Cookie", ""))
    return (cookies.get("nid18") == nid and cookies.get("nid18_create_time", "").isdigit()
            and headers.get("User-Agent", "").startswith("Mozilla/5.0"))
