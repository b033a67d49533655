"""Search-interest collectors: Baidu Index (cookie) and WeChat Index (openid + search_key) -> observations."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from sentibot.store import db as store
from sentibot.errors import InputError
from sentibot.models import Observation, Outcome
from sentibot.collect.cycle import CollectContext, CollectResult
from sentibot.collect.http import classify_json, safe_url
from sentibot.collect.search.cipher import cipher_text
from sentibot.collect.search.parse import (
    BAIDU_NOT_LOGGED_IN,
    NeedsCredentials,
    StatusBlocked,
    UnindexedWords,
    decrypt_series,
    parse_index_response,
    parse_key_response,
    parse_wechat_response,
    split_windows,
    wechat_body,
)

log = logging.getLogger(__name__)

BAIDU = "baidu_index"
WECHAT = "wechat_index"
WORDS_PER_REQUEST = 5  # Baidu Index accepts up to 5 keyword groups per request
# The WeChat mini-program's own client: wxaweb/wxindex is called from it (SOURCES.md §6).
WECHAT_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/107.0.0.0 "
             "Safari/537.36 MicroMessenger/7.0.20.1781(0x6700143B) NetType/WIFI MiniProgramEnv/Windows "
             "WindowsWechat/WMPF WindowsWechat(0x63090c11)XWEB/11581")
WECHAT_REFERER = "https://servicewechat.com/wxc026e7662ec26a3a/74/page-frame.html"


def _fingerprint(*secrets: str) -> str:
    """A short digest of credentials, so a renewed cookie can end a not-logged-in pause (never the secret itself)."""
    return hashlib.sha256("\n".join(secrets).encode()).hexdigest()[:12]


def pause_reason(db: Database, source: str, now: datetime, fingerprint: str) -> str | None:
    """Why the source is paused now, or None; a pause for bad credentials ends as soon as they change."""
    until = store.get_cursor(db, source, "paused_until")
    if not until or datetime.fromisoformat(until) <= now:
        return None
    if (store.get_cursor(db, source, "pause_credentials") or "") not in ("", fingerprint):
        return None  # credentials were renewed since the pause began
    return f"paused until {until}: {store.get_cursor(db, source, 'pause_reason')}"


def pause(db: Database, source: str, now: datetime, seconds: float, reason: str, fingerprint: str = "") -> str:
    """Pause the source (a credentials fingerprint makes the pause end when they change); returns its end."""
    stamp = now.isoformat(timespec="seconds")
    until = (now + timedelta(seconds=seconds)).isoformat(timespec="seconds")
    with db.atomic():
        store.set_cursor(db, source, "paused_until", until, stamp)
        store.set_cursor(db, source, "pause_reason", reason, stamp)
        store.set_cursor(db, source, "pause_credentials", fingerprint, stamp)
    log.warning("source %s paused until %s: %s", source, until, reason)
    return until


async def _get_json(ctx: CollectContext, url: str, params: dict, headers: dict | None = None,
                    body: dict | None = None) -> dict:
    """GET (or, with a body, POST) a JSON object; captcha pages, busy messages and non-JSON become FetchError."""
    if body is None:
        text = await ctx.client.get_text(url, params=params, headers=headers)
    else:
        text = (await ctx.client.post(url, json=body, headers=headers)).text
    verdict = classify_json(text, data_key=None)
    verdict.raise_unusable(safe_url(url))
    return verdict.payload


def _range(ctx: CollectContext, since: date | None) -> tuple[date, date]:
    end = ctx.now.date() - timedelta(days=1)  # both indexes publish up to yesterday
    start = since or end - timedelta(days=ctx.settings.search_lookback_days - 1)
    return min(start, end), end


def sent_user_agent(ctx: CollectContext) -> str:
    """The User-Agent the shared client actually sends (the Cipher-Text must be computed over it)."""
    return str(ctx.client.client.headers.get("User-Agent") or ctx.settings.user_agent)


def _needs_credentials(ctx: CollectContext, source: str, fingerprint: str) -> str | None:
    """'needs credentials: ...' while the credentials a service rejected are still the ones set, else None."""
    rejected = store.get_cursor(ctx.db, source, "rejected_credentials")
    if rejected and rejected == fingerprint:
        return f"needs credentials: {store.get_cursor(ctx.db, source, 'rejected_reason')}"
    return None


def _reject(ctx: CollectContext, source: str, exc: NeedsCredentials, fingerprint: str) -> CollectResult:
    """Remember which credentials were rejected: no request is sent with them again (no error loop)."""
    stamp = ctx.now.isoformat(timespec="seconds")
    with ctx.db.atomic():
        store.set_cursor(ctx.db, source, "rejected_credentials", fingerprint, stamp)
        store.set_cursor(ctx.db, source, "rejected_reason", f"{exc} (rejected at {stamp})", stamp)
    log.warning("%s: %s", source, exc)
    return CollectResult(source, Outcome.NOT_CONFIGURED, 0, f"needs credentials: {exc}")


def _blocked(ctx: CollectContext, source: str, exc: StatusBlocked, fingerprint: str) -> CollectResult:
    # not logged in / expired credentials: renewing them ends the pause; a rate limit holds whatever the cookie
    renewable = exc.status == BAIDU_NOT_LOGGED_IN or source == WECHAT
    until = pause(ctx.db, source, ctx.now, ctx.settings.search_block_pause_s, str(exc), fingerprint if renewable else "")
    return CollectResult(source, Outcome.BLOCKED, 0, f"{exc}; paused until {until}")


async def _baidu_group(ctx: CollectContext, words: tuple[str, ...], first: date, last: date,
                       headers: dict) -> list[Observation]:
    """One SearchApi/index request (Cipher-Text computed for it) and its key request, decrypted."""
    s = ctx.settings
    where = f"baidu index {first}..{last}"
    now_ms = int(ctx.now.timestamp() * 1000)
    signed = {**headers, "Cipher-Text": cipher_text(sent_user_agent(ctx), words[0], now_ms)}
    answer = await _get_json(ctx, f"{s.baidu_index_url}/api/SearchApi/index", headers=signed, params={
        "area": 0, "word": json.dumps([[{"name": w, "wordType": 1}] for w in words], ensure_ascii=False),
        "startDate": first.isoformat(), "endDate": last.isoformat()})
    uniqid, series = parse_index_response(answer, where)
    key_answer = await _get_json(ctx, f"{s.baidu_index_url}/Interface/ptbk", {"uniqid": uniqid}, headers)
    return decrypt_series(series, parse_key_response(key_answer, f"{where} key"), where)


async def _baidu_words(ctx: CollectContext, words: tuple[str, ...], first: date, last: date, headers: dict,
                       unindexed: set[str]) -> list[Observation]:
    """A group's values; after a 10002 each keyword is asked alone, so an unindexed one costs only itself."""
    try:
        return await _baidu_group(ctx, words, first, last, headers)
    except UnindexedWords:
        if len(words) == 1:
            unindexed.add(words[0])
            return []
    out: list[Observation] = []
    for word in words:
        out += await _baidu_words(ctx, (word,), first, last, headers, unindexed)
    return out


async def collect_baidu(ctx: CollectContext, since: date | None = None) -> CollectResult:
    """Daily (or weekly) Baidu Index of every keyword, in windows of <= 90 days; each window stored whole."""
    s = ctx.settings
    if not s.baidu_cookie:
        return CollectResult(BAIDU, Outcome.NOT_CONFIGURED, 0,
                             "not configured: set SENTIBOT_BAIDU_COOKIE (a logged-in BDUSS cookie) to collect it")
    fingerprint = _fingerprint(s.baidu_cookie)
    reason = pause_reason(ctx.db, BAIDU, ctx.now, fingerprint)
    if reason:
        return CollectResult(BAIDU, Outcome.PAUSED, 0, reason)
    headers = {"Cookie": str(s.baidu_cookie), "Referer": f"{s.baidu_index_url}/v2/main/index.html"}
    start, end = _range(ctx, since)
    stored, unindexed = 0, set[str]()
    try:
        for first, last in split_windows(start, end):
            window: list[Observation] = []
            for i in range(0, len(s.baidu_keywords), WORDS_PER_REQUEST):
                words = tuple(s.baidu_keywords[i:i + WORDS_PER_REQUEST])
                window += await _baidu_words(ctx, words, first, last, headers, unindexed)
            stored += store.upsert_observations(ctx.db, window, ctx.now.isoformat(timespec="seconds"))
    except StatusBlocked as exc:
        return _blocked(ctx, BAIDU, exc, fingerprint)
    except InputError as exc:
        log.warning("%s: %s (nothing stored from this window)", BAIDU, exc)
        return CollectResult(BAIDU, Outcome.FAILED, stored, f"{exc} (nothing stored from this window)")
    note = f"; not indexed: {', '.join(sorted(unindexed))}" if unindexed else ""
    return CollectResult(BAIDU, Outcome.OK if stored else Outcome.EMPTY, stored,
                         f"{stored} values for {len(s.baidu_keywords)} keyword(s), {start}..{end}{note}")


async def collect_wechat(ctx: CollectContext, since: date | None = None) -> CollectResult:
    """The WeChat Index series (GetDefaultIndex, ending yesterday) of every configured keyword."""
    s = ctx.settings
    if not (s.wechat_openid and s.wechat_search_key):
        return CollectResult(WECHAT, Outcome.NOT_CONFIGURED, 0, "not configured: set SENTIBOT_WECHAT_OPENID and "
                                                                "SENTIBOT_WECHAT_SEARCH_KEY (from a logged-in client)")
    fingerprint = _fingerprint(s.wechat_openid, s.wechat_search_key)
    needs = _needs_credentials(ctx, WECHAT, fingerprint)
    if needs:
        return CollectResult(WECHAT, Outcome.NOT_CONFIGURED, 0, needs)
    reason = pause_reason(ctx.db, WECHAT, ctx.now, fingerprint)
    if reason:
        return CollectResult(WECHAT, Outcome.PAUSED, 0, reason)
    start, end = _range(ctx, since)
    url = f"{s.wechat_index_url}/cgi-bin/wxaweb/wxindex"
    headers = {"User-Agent": WECHAT_UA, "xweb_xhr": "1", "Referer": WECHAT_REFERER}
    body = wechat_body(s.wechat_keywords, str(s.wechat_openid), str(s.wechat_search_key), start, end)
    try:
        answer = await _get_json(ctx, url, {}, headers, body=body)
        observations, unindexed = parse_wechat_response(answer, safe_url(url))
    except NeedsCredentials as exc:
        return _reject(ctx, WECHAT, exc, fingerprint)
    except StatusBlocked as exc:
        return _blocked(ctx, WECHAT, exc, fingerprint)
    except InputError as exc:
        log.warning("%s: %s (nothing stored)", WECHAT, exc)
        return CollectResult(WECHAT, Outcome.FAILED, 0, f"{exc} (nothing stored)")
    observations = [o for o in observations if start.isoformat() <= o.ts <= end.isoformat()]
    stored = store.upsert_observations(ctx.db, observations, ctx.now.isoformat(timespec="seconds"))
    note = f"; not indexed: {', '.join(unindexed)}" if unindexed else ""
    return CollectResult(WECHAT, Outcome.OK if stored else Outcome.EMPTY, stored,
                         f"{stored} values for {len(s.wechat_keywords)} keyword(s), {start}..{end}{note}")
