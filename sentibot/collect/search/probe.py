"""`sentibot probe baidu_index wechat_index`: one request per endpoint, credentials judged, never stored."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

from sentibot.errors import InputError
from sentibot.collect.http import classify_json
from sentibot.collect.notices.probe import answer
from sentibot.collect.probe import ProbeLine, ProbeStatus
from sentibot.collect.search.cipher import cipher_text
from sentibot.collect.search.collector import BAIDU, WECHAT, WECHAT_REFERER, WECHAT_UA, sent_user_agent
from sentibot.collect.search.parse import (
    BAIDU_NOT_LOGGED_IN, NeedsCredentials, StatusBlocked, UnindexedWords, parse_index_response, parse_key_response,
    parse_wechat_response, wechat_body,
)

if TYPE_CHECKING:
    from sentibot.collect.cycle import CollectContext
    from sentibot.collect.probe import Recorder


def _json(text: str) -> dict:
    verdict = classify_json(text, data_key=None)
    verdict.raise_unusable("answer")
    return verdict.payload


class _NotLoggedIn(InputError):
    """Baidu's 10000: the cookie must be renewed."""


async def probe_baidu(ctx: CollectContext, recorder: Recorder | None) -> list[ProbeLine]:
    """SearchApi/index for the first keyword over the last week (Cipher-Text computed), then its ptbk key."""
    s = ctx.settings
    if not s.baidu_cookie:
        return [ProbeLine(BAIDU, "SearchApi/index", ProbeStatus.NEEDS, "SENTIBOT_BAIDU_COOKIE (a logged-in BDUSS "
                          "cookie) is not set", configured=False)]
    word = s.baidu_keywords[0]
    end = ctx.now.date() - timedelta(days=1)
    headers = {"Cookie": str(s.baidu_cookie), "Referer": f"{s.baidu_index_url}/v2/main/index.html",
               "Cipher-Text": cipher_text(sent_user_agent(ctx), word, int(ctx.now.timestamp() * 1000))}
    uniqid: list[str] = []

    def judge(text: str) -> str:
        try:
            found, series = parse_index_response(_json(text), "SearchApi/index")
        except StatusBlocked as exc:
            if exc.status == BAIDU_NOT_LOGGED_IN:
                raise _NotLoggedIn(str(exc)) from None
            raise
        except UnindexedWords as exc:
            raise InputError(f"{exc} ({word})") from None
        uniqid.append(found)
        return f"{len(series)} series in data.userIndexes, uniqid present"

    params = {"area": 0, "word": json.dumps([[{"name": word, "wordType": 1}]], ensure_ascii=False),
              "startDate": (end - timedelta(days=6)).isoformat(), "endDate": end.isoformat()}
    line, _ = await answer(ctx, recorder, BAIDU, "SearchApi/index", "GET", f"{s.baidu_index_url}/api/SearchApi/index",
                           judge, needs=(_NotLoggedIn,), blocks=(StatusBlocked,), params=params, headers=headers)
    if not uniqid:
        return [line]
    key_headers = {k: v for k, v in headers.items() if k != "Cipher-Text"}
    key_line, _ = await answer(ctx, recorder, BAIDU, "Interface/ptbk", "GET", f"{s.baidu_index_url}/Interface/ptbk",
                               lambda t: f"key of {len(parse_key_response(_json(t), 'ptbk'))} chars",
                               params={"uniqid": uniqid[0]}, headers=key_headers)
    return [line, key_line]


async def probe_wechat(ctx: CollectContext, recorder: Recorder | None) -> list[ProbeLine]:
    """wxaweb/wxindex GetDefaultIndex for the configured keywords over the last week."""
    s = ctx.settings
    endpoint = "wxaweb/wxindex"
    if not (s.wechat_openid and s.wechat_search_key):
        return [ProbeLine(WECHAT, endpoint, ProbeStatus.NEEDS, "SENTIBOT_WECHAT_OPENID and SENTIBOT_WECHAT_SEARCH_KEY"
                          " are not set", configured=False)]
    end = ctx.now.date() - timedelta(days=1)
    body = wechat_body(s.wechat_keywords, str(s.wechat_openid), str(s.wechat_search_key), end - timedelta(days=6), end)

    def judge(text: str) -> str:
        observations, missing = parse_wechat_response(_json(text), endpoint)
        none = f", none for {', '.join(missing)}" if missing else ""
        return f"{len(observations)} values in content.resp_list{none}"

    line, _ = await answer(ctx, recorder, WECHAT, endpoint, "POST", f"{s.wechat_index_url}/cgi-bin/wxaweb/wxindex",
                           judge, needs=(NeedsCredentials,), blocks=(StatusBlocked,), json=body,
                           headers={"User-Agent": WECHAT_UA, "xweb_xhr": "1", "Referer": WECHAT_REFERER})
    return [line]
