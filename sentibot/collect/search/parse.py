"""Pure parsers for search interest: Baidu Index decryption and series, WeChat Index variants, date windows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sentibot.errors import InputError
from sentibot.models import Observation

BAIDU_METRICS = ("all", "pc", "wise")
BAIDU_NOT_LOGGED_IN = 10000
BAIDU_RATE_LIMITED = 10001
BAIDU_BAD_REQUEST = 10002  # an unindexed keyword, which sinks every keyword of the same request
BAIDU_ANTI_BOT = 10018  # "疑似存在异常访问行为"; a missing or wrong Cipher-Text gets it too
MAX_WINDOW_DAYS = 90
BAIDU_LAG_DAYS = 3  # Baidu's data lags about 2 days: up to this many trailing values may be missing
WECHAT_NEEDS_CREDENTIALS = (-10000, -1)  # auth failed; "process failed." (missing signature): renew them


class UnindexedWords(InputError):
    """Baidu answered 10002 (bad request): one of the keywords asked together is not indexed."""


class NeedsCredentials(InputError):
    """The service rejects the credentials themselves: the user must renew them (not a block, not an error)."""


class StatusBlocked(InputError):
    """The service answered but refuses us (not logged in, rate limited, expired credentials)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def split_windows(start: date, end: date, max_days: int = MAX_WINDOW_DAYS) -> list[tuple[date, date]]:
    """Consecutive inclusive [start, end] windows of at most max_days days covering the range."""
    if end < start:
        raise InputError(f"date range {start}..{end}: end is before start")
    windows = []
    while start <= end:
        stop = min(end, start + timedelta(days=max_days - 1))
        windows.append((start, stop))
        start = stop + timedelta(days=1)
    return windows


def decrypt(key: str, cipher: str, where: str = "baidu index") -> str:
    """Map each cipher character through the key: key[i] stands for key[len(key)//2 + i]."""
    if len(key) % 2:
        raise InputError(f"{where}: key has an odd length ({len(key)}); expected two halves")
    half = len(key) // 2
    table = dict(zip(key[:half], key[half:]))
    needed = set(cipher)
    if half < len(needed):
        raise InputError(f"{where}: key too short ({len(key)} chars) for a cipher using {len(needed)} "
                         f"distinct characters (needs >= {2 * len(needed)})")
    for pos, char in enumerate(cipher):
        if char not in table:
            raise InputError(f"{where}: cipher character {char!r} at position {pos} is missing from the key")
    return "".join(table[c] for c in cipher)


def _number(item: str, where: str, pos: int) -> float | None:
    item = item.strip()
    if item == "":
        return None  # a missing day stays missing, never zero
    try:
        return float(item)
    except ValueError:
        raise InputError(f"{where}: item {pos} is not a number: {item[:20]!r}") from None


def series_points(plain: str, start: date, end: date, step_days: int, where: str) -> list[tuple[date, float]]:
    """Decrypted 'n1,n2,,n4' -> (date, value) pairs from start every step_days; empty items are left out.

    Daily series may stop up to BAIDU_LAG_DAYS short of `end` (Baidu's data lag): the days not yet there are missing.
    """
    items = plain.split(",") if plain else []
    expected = (end - start).days // step_days + 1
    short = expected - len(items)
    if not (short == 0 or (step_days == 1 and 0 < short <= BAIDU_LAG_DAYS)):
        raise InputError(f"{where}: {len(items)} values for {start}..{end} every {step_days} day(s); "
                         f"expected {expected}")
    points = []
    for pos, item in enumerate(items):
        value = _number(item, where, pos)
        if value is not None:
            points.append((start + timedelta(days=pos * step_days), value))
    return points


@dataclass(frozen=True)
class EncryptedSeries:
    """One encrypted Baidu Index series of a keyword."""

    word: str
    metric: str  # all, pc or wise
    kind: str  # day or week
    start: date
    end: date
    cipher: str


def _parse_date(raw, where: str) -> date:
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise InputError(f"{where}: bad date {raw!r}") from None


def check_baidu_status(payload: dict, where: str) -> None:
    """StatusBlocked for 10000/10001/10018, UnindexedWords for 10002, InputError for any other non-zero status."""
    status = payload.get("status")
    if status == BAIDU_NOT_LOGGED_IN:
        raise StatusBlocked(f"{where}: status 10000 (not logged in): renew SENTIBOT_BAIDU_COOKIE", status)
    if status == BAIDU_RATE_LIMITED:
        raise StatusBlocked(f"{where}: status 10001 (request limited): Baidu throttles this account", status)
    if status == BAIDU_ANTI_BOT:
        raise StatusBlocked(f"{where}: status 10018 (anti-bot: suspected abnormal access): Baidu refuses this "
                            "client for now", status)
    if status == BAIDU_BAD_REQUEST:
        raise UnindexedWords(f"{where}: status 10002 (bad request: a keyword is not indexed)")
    if status != 0:
        raise InputError(f"{where}: status {status!r}: {str(payload.get('message', ''))[:80]}")


def parse_index_response(payload: dict, where: str) -> tuple[str, list[EncryptedSeries]]:
    """(uniqid, encrypted series) of a SearchApi/index answer; `data: null` is an error, never 'no data'."""
    check_baidu_status(payload, where)
    data = payload.get("data")
    if not isinstance(data, dict) or not data.get("uniqid") or not isinstance(data.get("userIndexes"), list):
        raise InputError(f"{where}: no data.uniqid/data.userIndexes in the answer")
    series = []
    for i, entry in enumerate(data["userIndexes"]):
        entry = entry if isinstance(entry, dict) else {}  # a non-object entry is refused below (no word)
        words = entry.get("word") or []
        if not isinstance(words, list):
            words = []
        word = "+".join(str(w.get("name") or "") for w in words if isinstance(w, dict))
        kind = entry.get("type", "day")
        if not word or kind not in ("day", "week"):
            raise InputError(f"{where}: userIndexes[{i}] has no word or an unknown type {kind!r}")
        for metric in BAIDU_METRICS:
            part = entry.get(metric)
            if part is None:
                continue
            if not isinstance(part, dict):
                raise InputError(f"{where}: userIndexes[{i}].{metric} is {type(part).__name__}, expected an object")
            series.append(EncryptedSeries(word, metric, kind, _parse_date(part.get("startDate"), where),
                                          _parse_date(part.get("endDate"), where), str(part.get("data") or "")))
    return str(data["uniqid"]), series


def parse_key_response(payload: dict, where: str) -> str:
    """The decryption key of an Interface/ptbk answer."""
    check_baidu_status(payload, where)
    key = payload.get("data")
    if not isinstance(key, str) or not key:
        raise InputError(f"{where}: no key in the ptbk answer")
    return key


def decrypt_series(series: list[EncryptedSeries], key: str, where: str) -> list[Observation]:
    """Observations of every series; daily metrics are all/pc/wise, weekly ones all_week/pc_week/wise_week."""
    out = []
    for s in series:
        label = f"{where} {s.word}/{s.metric}"
        step = 7 if s.kind == "week" else 1
        metric = s.metric if s.kind == "day" else f"{s.metric}_week"
        for day, value in series_points(decrypt(key, s.cipher, label), s.start, s.end, step, label):
            out.append(Observation("baidu_index", s.word, metric, day.isoformat(), value))
    return out


def _ymd(raw, where: str) -> date:
    text = str(raw)
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])) if len(text) == 8 else date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{where}: bad date {raw!r} (expected YYYYMMDD)") from None


def wechat_body(keywords: tuple[str, ...], openid: str, search_key: str, start: date, end: date) -> dict:
    """The JSON body of a wxaweb/wxindex GetDefaultIndex request (SOURCES.md §6)."""
    return {"openid": openid, "search_key": search_key, "cgi_name": "GetDefaultIndex", "query": list(keywords),
            "compound_word": [], "start_ymd": start.strftime("%Y%m%d"), "end_ymd": end.strftime("%Y%m%d")}


def parse_wechat_response(payload: dict, where: str) -> tuple[list[Observation], list[str]]:
    """Observations of a GetDefaultIndex answer (content.resp_list[].indexes[channel total].time_indexes[]), and
    the keywords it has no values for; code -10000/-1 is NeedsCredentials, any other code an error."""
    code = payload.get("code")
    if code in WECHAT_NEEDS_CREDENTIALS:
        why = "auth failed" if code == -10000 else "process failed (signature missing)"
        raise NeedsCredentials(f"{where}: code {code} ({why}): renew SENTIBOT_WECHAT_OPENID and "
                               "SENTIBOT_WECHAT_SEARCH_KEY")
    if code != 0:
        raise InputError(f"{where}: code {code!r}: {str(payload.get('msg', ''))[:80]}")
    content = payload.get("content")
    rows = content.get("resp_list") if isinstance(content, dict) else None
    if not isinstance(rows, list):
        raise InputError(f"{where}: code 0 but no content.resp_list list")
    out, missing = [], []
    for i, row in enumerate(rows):
        row = row if isinstance(row, dict) else {}
        query, indexes = str(row.get("query") or ""), row.get("indexes")
        if not query or not isinstance(indexes, list):
            raise InputError(f"{where}: resp_list[{i}] needs a query and an indexes list")
        total = next((x for x in indexes if isinstance(x, dict) and x.get("channel", "total") == "total"), None)
        points = total.get("time_indexes") if total else None
        if not isinstance(points, list) or not points:
            missing.append(query)
            continue
        for j, point in enumerate(points):
            label = f"{where} {query} time_indexes[{j}]"
            if not isinstance(point, dict) or "time" not in point:
                raise InputError(f"{label}: needs time and score")
            value = _number(str(point.get("score", "")), label, j)
            if value is None or value < 0:
                continue  # not yet available
            out.append(Observation("wechat_index", query, "index", _ymd(point["time"], label).isoformat(), value))
    return out, missing
