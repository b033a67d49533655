"""Settings from the environment or a .env file (prefix SENTIBOT_), validated once at start-up."""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from collections.abc import Callable, Mapping
from urllib.parse import urlparse, urlunparse

from dotenv import dotenv_values

from sentibot.errors import ConfigError

DEFAULT_BARS: tuple[str, ...] = ()  # empty: the BSE 50 forum is found among the Guba candidates (SOURCES.md §2)
# SOURCES.md §0: sites refuse non-browser agents (bse.cn's WAF answers 403, Eastmoney drops the connection)
BROWSER_USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/131.0.0.0 Safari/537.36")
log = logging.getLogger(__name__)


def mask_url(url: str) -> str:
    """The URL with any user:password replaced by ***, safe to log or show in an error."""
    try:
        parsed = urlparse(url)
        if parsed.username is None and parsed.password is None:
            return url
        host = parsed.hostname or ""
        netloc = f"***@{host}" + (f":{parsed.port}" if parsed.port else "")
    except ValueError:
        return "<unparseable URL>"
    return urlunparse(parsed._replace(netloc=netloc))


def _url(name: str, raw: str) -> str:
    try:
        parsed = urlparse(raw)
        parsed.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError:
        raise ConfigError(f"{name}: expected an http(s) URL, got {mask_url(raw)!r}") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname or any(c.isspace() for c in raw):
        raise ConfigError(f"{name}: expected an http(s) URL like https://host[:port][/path], got {mask_url(raw)!r}")
    return raw.rstrip("/") if not raw.endswith("/bot") else raw


def _proxy(name: str, raw: str) -> str | None:
    """A proxy URL: http(s):// or socks5(h):// (SOCKS needs the socksio package, installed with httpx[socks])."""
    if not raw:
        return None
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme not in ("http", "https", "socks5", "socks5h"):
        raise ConfigError(f"{name}: expected a proxy URL like http://host:port or socks5://host:port, "
                          f"got {mask_url(raw)!r}")
    try:
        _url(name, "http" + raw[len(scheme):])  # the same host and port checks as any URL
    except ConfigError:
        raise ConfigError(f"{name}: expected a proxy URL like http://host:port or socks5://host:port, "
                          f"got {mask_url(raw)!r}") from None
    return raw.rstrip("/")


def _optional_url(name: str, raw: str) -> str | None:
    return _url(name, raw) if raw else None


def _number(kind: type, minimum: float) -> Callable[[str, str], float]:
    what = "an integer" if kind is int else "a number"

    def parse(name: str, raw: str):
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected {what} >= {minimum:g}, got {raw!r}") from None
        if not math.isfinite(value) or value < minimum:
            raise ConfigError(f"{name}: expected {what} >= {minimum:g}, got {raw!r}")
        return value

    return parse


def _ids(name: str, raw: str) -> tuple[int, ...]:
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if not all(re.fullmatch(r"[1-9][0-9]{0,19}", item) for item in items):
        raise ConfigError(f"{name}: expected comma-separated numeric Telegram user ids like 12345,67890, got {raw!r}")
    return tuple(int(item) for item in items)


def _words(name: str, raw: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in raw.split(",") if item.strip())
    if not items:
        raise ConfigError(f"{name}: expected a comma-separated list, got {raw!r}")
    return items


def _token(name: str, raw: str) -> str:
    # Telegram tokens look like 123456:ABC-def_; checking the shape catches pasted quotes or spaces.
    # The message never repeats the value: it is a credential.
    if not re.fullmatch(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,100}", raw):
        raise ConfigError(f"{name}: expected a Telegram bot token like 123456:ABC-def (digits, colon, letters), "
                          "got a value of another shape (not shown)")
    return raw


def _text(name: str, raw: str) -> str:
    # Every text setting ends up in an HTTP header: a control character would break (or inject into) it.
    if any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise ConfigError(f"{name}: expected one line of text without control characters")
    return raw


def _path(name: str, raw: str) -> Path:
    if "\x00" in raw:
        raise ConfigError(f"{name}: expected a file path, got a value containing a NUL byte")
    return Path(raw).expanduser()


def _log_level(name: str, raw: str) -> str:
    level = raw.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{name}: expected one of DEBUG, INFO, WARNING, ERROR, got {raw!r}")
    return level


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        if raw.lower() not in allowed:
            raise ConfigError(f"{name}: expected one of {', '.join(allowed)}, got {raw!r}")
        return raw.lower()

    return parse


def _flag(name: str, raw: str) -> bool:
    value = raw.lower()
    if value not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ConfigError(f"{name}: expected true or false, got {raw!r}")
    return value in ("1", "true", "yes", "on")


class Secret(str):
    """A string whose repr never shows its value."""

    def __repr__(self) -> str:
        return "Secret('***')" if self else "Secret('')"


def _secret(parse: Callable[[str, str], str]) -> Callable[[str, str], Secret]:
    return lambda name, raw: Secret(parse(name, raw))


def _setting(env: str, default, parse, doc: str, secret: bool = False):
    return field(default=default, metadata={"env": env, "parse": _secret(parse) if secret else parse, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """Every setting sentibot reads; .env.example documents each one."""

    db: Path = _setting("SENTIBOT_DB", Path("data/sentibot.db"), _path, "SQLite history file")
    telegram_token: Secret = _setting(
        "SENTIBOT_TELEGRAM_TOKEN", Secret(""), _token, "bot token from @BotFather; empty = log alerts only", secret=True
    )
    telegram_api_url: str = _setting(
        "SENTIBOT_TELEGRAM_API_URL", "https://api.telegram.org/bot", _url, "Bot API base URL; the token is appended"
    )
    admin_ids: tuple[int, ...] = _setting("SENTIBOT_ADMIN_IDS", (), _ids, "comma-separated Telegram user ids")
    http_proxy: str | None = _setting("SENTIBOT_HTTP_PROXY", None, _optional_url, "proxy for all source requests")
    telegram_proxy: str | None = _setting(
        "SENTIBOT_TELEGRAM_PROXY", None, _proxy, "proxy for the Bot API alone: http://host:port or socks5://host:port"
    )
    user_agent: str = _setting(
        "SENTIBOT_USER_AGENT", BROWSER_USER_AGENT, _text,
        "User-Agent of source requests: a desktop browser's (Eastmoney and bse.cn refuse other agents)",
    )
    language: str = _setting(
        "SENTIBOT_LANGUAGE", "", _choice("zh", "en"),
        "zh or en: the CLI's language and a chat's when Telegram gives none; empty = from the locale (LANG)",
    )
    log_level: str = _setting("SENTIBOT_LOG_LEVEL", "INFO", _log_level, "DEBUG, INFO, WARNING or ERROR")
    guba_url: str = _setting("SENTIBOT_GUBA_URL", "https://guba.eastmoney.com", _url, "Guba forum pages")
    guba_api_url: str = _setting("SENTIBOT_GUBA_API_URL", "https://gbapi.eastmoney.com", _url,
                                 "Guba JSON API (reserved by DESIGN.md; not read yet: Guba is read from list pages)")
    eastmoney_url: str = _setting(
        "SENTIBOT_EASTMONEY_URL", "https://push2his.eastmoney.com", _url, "Eastmoney kline (market bars)"
    )
    bse_url: str = _setting("SENTIBOT_BSE_URL", "https://www.bse.cn", _url, "Beijing Stock Exchange site")
    csrc_url: str = _setting("SENTIBOT_CSRC_URL", "https://www.csrc.gov.cn", _url, "CSRC site")
    baidu_index_url: str = _setting("SENTIBOT_BAIDU_INDEX_URL", "https://index.baidu.com", _url, "Baidu Index")
    wechat_index_url: str = _setting(
        "SENTIBOT_WECHAT_INDEX_URL", "https://search.weixin.qq.com", _url, "WeChat Index endpoint host"
    )
    baidu_cookie: Secret = _setting(
        "SENTIBOT_BAIDU_COOKIE", Secret(""), _text, "logged-in Baidu cookie (BDUSS=...); empty = not configured", True
    )
    baidu_keywords: tuple[str, ...] = _setting(
        "SENTIBOT_BAIDU_KEYWORDS", ("北交所", "北证50", "北交所开户", "北交所打新"), _words, "Baidu Index keywords"
    )
    wechat_openid: Secret = _setting(
        "SENTIBOT_WECHAT_OPENID", Secret(""), _text, "WeChat Index openid; empty = not configured", True
    )
    wechat_search_key: Secret = _setting(
        "SENTIBOT_WECHAT_SEARCH_KEY", Secret(""), _text, "WeChat Index search_key (expires within hours)", True
    )
    wechat_keywords: tuple[str, ...] = _setting(
        "SENTIBOT_WECHAT_KEYWORDS", ("北交所", "北证50"), _words, "WeChat Index keywords"
    )
    bse_nodes: tuple[str, ...] = _setting(
        "SENTIBOT_BSE_NODES", (), _words,
        "bse.cn listse.do node ids to read instead of the columns' own (override; e.g. 1289 for 本所要闻)",
    )
    bse_columns: tuple[str, ...] = _setting(
        "SENTIBOT_BSE_COLUMNS", ("本所要闻", "监管动态"), _words,
        "bse.cn news columns, by the name their links show; each node id is read from the column's page",
    )
    bse_column_pages: tuple[str, ...] = _setting(
        "SENTIBOT_BSE_COLUMN_PAGES", ("/news/important_news.html", "/disclosure/announcement.html"), _words,
        "bse.cn pages (under SENTIBOT_BSE_URL) whose links lead to the columns of SENTIBOT_BSE_COLUMNS",
    )
    cninfo_url: str = _setting(
        "SENTIBOT_CNINFO_URL", "http://www.cninfo.com.cn", _url, "cninfo (巨潮资讯): BSE disclosures when bse.cn refuses"
    )
    csrc_lists: tuple[str, ...] = _setting(
        "SENTIBOT_CSRC_LISTS", ("/csrc/c100029/common_list.shtml", "/csrc/c100028/common_list.shtml"), _words,
        "CSRC list pages under SENTIBOT_CSRC_URL (新闻发布, 要闻); their channel ids are read from them",
    )
    csrc_channels: tuple[str, ...] = _setting(
        "SENTIBOT_CSRC_CHANNELS", (), _words,
        "CSRC searchList channel ids to read instead of the list pages' own (override; 要闻 is a1a078ee0bc54721ab6b148884c784a8)",
    )
    em_rank_url: str = _setting(
        "SENTIBOT_EM_RANK_URL", "https://emappdata.eastmoney.com", _url, "Eastmoney popularity rank (人气榜) API"
    )
    em_rank_codes: tuple[str, ...] = _setting(
        "SENTIBOT_EM_RANK_CODES", (), _words,
        "BSE stock codes (old or 920xxx) whose Eastmoney popularity rank is collected; empty = the largest "
        "SENTIBOT_EM_RANK_TOP stocks of the stored universe",
    )
    em_rank_top: int = _setting(
        "SENTIBOT_EM_RANK_TOP", 20, _number(int, 1),
        "how many of the largest stored BSE stocks get their popularity rank collected (one request each)",
    )
    search_lookback_days: int = _setting(
        "SENTIBOT_SEARCH_LOOKBACK_DAYS", 30, _number(int, 1), "days of search interest re-read each cycle"
    )
    search_block_pause_s: float = _setting(
        "SENTIBOT_SEARCH_BLOCK_PAUSE_S", 21600.0, _number(float, 0),
        "pause after Baidu status 10000/10001/10018 or a WeChat credential error (new credentials end it early)",
    )
    guba_bars: tuple[str, ...] = _setting(
        "SENTIBOT_GUBA_BARS", DEFAULT_BARS, _words,
        "Guba bar ids read first; empty = the BSE 50 forum found among zsbj899050, zssz899050, 899050, zs899050",
    )
    guba_max_pages: int = _setting("SENTIBOT_GUBA_MAX_PAGES", 5, _number(int, 1), "pages per bar and cycle")
    guba_scope: str = _setting(
        "SENTIBOT_GUBA_SCOPE", "bse50", _choice("bars", "bse50", "all"),
        "bars: only SENTIBOT_GUBA_BARS; bse50: plus the 50 largest BSE stocks; all: plus every BSE stock",
    )
    market_scope: str = _setting(
        "SENTIBOT_MARKET_SCOPE", "bse50", _choice("index", "bse50", "all"),
        "daily bars of: the BSE 50 index only; plus the 50 largest BSE stocks; plus every BSE stock",
    )
    guba_retail_only: bool = _setting(
        "SENTIBOT_GUBA_RETAIL_ONLY", True, _flag, "leave pinned, 问董秘 Q&A and 财富号 news posts out of attention counts"
    )
    eastmoney_list_url: str = _setting(
        "SENTIBOT_EASTMONEY_LIST_URL", "https://push2.eastmoney.com", _url, "Eastmoney stock list (the BSE universe)"
    )
    eastmoney_session_url: str = _setting(
        "SENTIBOT_EASTMONEY_SESSION_URL", "https://anonflow2.eastmoney.com", _url,
        "where the Eastmoney nid18 cookie comes from (webreport); push2, push2his and emappdata need it",
    )
    eastmoney_cookie: Secret = _setting(
        "SENTIBOT_EASTMONEY_COOKIE", Secret(""), _text,
        "Eastmoney cookie pasted from a browser (nid18=...; nid18_create_time=...); empty = fetched from webreport",
        True,
    )
    min_interval_s: float = _setting(
        "SENTIBOT_MIN_INTERVAL_S", 2.0, _number(float, 0), "seconds between requests to one host"
    )
    host_concurrency: int = _setting(
        "SENTIBOT_HOST_CONCURRENCY", 1, _number(int, 1), "requests in flight at once per host"
    )
    http_retries: int = _setting("SENTIBOT_HTTP_RETRIES", 3, _number(int, 0), "retries of a retryable failure")
    http_timeout_s: float = _setting("SENTIBOT_HTTP_TIMEOUT_S", 20.0, _number(float, 0.1), "request timeout")
    block_pause_s: float = _setting(
        "SENTIBOT_BLOCK_PAUSE_S", 600.0, _number(float, 0), "first pause after 3 consecutive blocks (doubles)"
    )
    source_down_after_s: float = _setting(
        "SENTIBOT_SOURCE_DOWN_AFTER_S", 3600.0, _number(float, 0), "unhealthy this long = source_down alert"
    )
    guba_interval_s: float = _setting(
        "SENTIBOT_GUBA_INTERVAL_S", 300.0, _number(float, 1), "forum collection interval in trading hours"
    )
    market_interval_s: float = _setting(
        "SENTIBOT_MARKET_INTERVAL_S", 300.0, _number(float, 1), "market collection interval in trading hours"
    )
    off_hours_interval_s: float = _setting(
        "SENTIBOT_OFF_HOURS_INTERVAL_S", 1800.0, _number(float, 1), "forum/market interval outside trading hours"
    )
    notices_interval_s: float = _setting(
        "SENTIBOT_NOTICES_INTERVAL_S", 600.0, _number(float, 1), "regulator notice interval, around the clock"
    )
    search_interval_s: float = _setting(
        "SENTIBOT_SEARCH_INTERVAL_S", 86400.0, _number(float, 1), "search-interest interval (daily)"
    )
    sender_interval_s: float = _setting(
        "SENTIBOT_SENDER_INTERVAL_S", 2.0, _number(float, 0.05), "how often the outbox sender drains"
    )
    polling_watchdog_s: float = _setting(
        "SENTIBOT_POLLING_WATCHDOG_S", 300.0, _number(float, 1), "restart polling if it has not succeeded this long"
    )
    alert_cooldown_s: float = _setting(
        "SENTIBOT_ALERT_COOLDOWN_S", 21600.0, _number(float, 0),
        "a heat alert of the same kind and level is not repeated within this many seconds",
    )

    @property
    def telegram_configured(self) -> bool:
        return bool(self.telegram_token)

    def __repr__(self) -> str:
        # Credentials never reach a log line or traceback: secrets are masked, proxy passwords hidden.
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                shown = repr(value)
            elif isinstance(value, str) and "@" in value:
                shown = repr(mask_url(value))
            else:
                shown = repr(value)
            parts.append(f"{f.name}={shown}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__


def setting_names() -> list[str]:
    """The environment names of every setting, in declaration order."""
    return [f.metadata["env"] for f in fields(Settings)]


def setting_docs() -> list[tuple[str, str, object]]:
    """(name, doc, default) for every setting."""
    return [(f.metadata["env"], f.metadata["doc"], f.default) for f in fields(Settings)]


def _read_env_file(env_file: str | Path) -> dict[str, str]:
    path = Path(env_file)
    if not path.is_file():
        return {}
    try:
        path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"settings file {path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"settings file {path}: not UTF-8 text (byte {exc.start})") from None
    return {k: v for k, v in dotenv_values(path, encoding="utf-8").items() if v is not None}


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env", **overrides) -> Settings:
    """Build Settings from a .env file, then the environment (which wins), then keyword overrides.

    Raises ConfigError naming the first setting with a wrong value and what it expects.
    """
    values: dict[str, str] = {}
    if env_file is not None:
        values.update(_read_env_file(env_file))
    values.update(os.environ if environ is None else environ)
    known = set(setting_names())
    for name in sorted(k for k in values if k.startswith("SENTIBOT_") and k not in known):
        log.warning("unknown setting %s is ignored (a typo? see .env.example)", name)
    kwargs = {}
    for f in fields(Settings):
        env = f.metadata["env"]
        raw = values.get(env)
        if raw is None:
            continue
        raw = raw.strip()
        if raw == "":
            if f.default in (None, "", ()):
                continue  # an empty optional setting means "not configured"
            raise ConfigError(f"{env}: is set but empty; expected {f.metadata['doc']} (unset it for the default)")
        kwargs[f.name] = f.metadata["parse"](env, raw)
    kwargs.update(overrides)
    return Settings(**kwargs)
