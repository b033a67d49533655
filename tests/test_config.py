"""Settings: every setting with good and bad values, .env handling, and secrets kept out of repr and errors."""

from __future__ import annotations

import logging
import re
from dataclasses import fields
from pathlib import Path

import pytest

from sentibot.config import Secret, Settings, load_settings, mask_url, setting_names
from sentibot.errors import ConfigError

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def _examples(f) -> tuple[list[str], list[str]]:
    """(good, bad) raw values for a setting, chosen by what kind of value it holds."""
    env, default = f.metadata["env"], f.default
    if env == "SENTIBOT_TELEGRAM_TOKEN":
        return [TOKEN, "1:a"], ["abc", "123456 :abc", "123:abc def", "'123:abc'", ":abc", "123:"]
    if env == "SENTIBOT_LOG_LEVEL":
        return ["debug", "INFO", "Warning", "ERROR"], ["LOUD", "5"]
    if env == "SENTIBOT_ADMIN_IDS":
        return ["1", "12345, 67890", "42,"], ["abc", "12,x", "--5", "-5", "1.5", "0"]
    parser = getattr(f.metadata["parse"], "__qualname__", "")
    if parser.startswith("_choice"):
        allowed = re.search(r"one of (.*), got", _error(f, "\x01nonsense")).group(1).split(", ")
        return allowed + [allowed[0].upper()], ["nonsense", allowed[0] + "x"]
    if isinstance(default, Path):
        return ["data/other.db", "/tmp/x/sentibot.db"], ["bad\x00path"]
    if isinstance(default, Secret):
        return ["BDUSS=abc; other=1", "x"], ["line1\nline2", "a\x01b"]
    if default is None or (isinstance(default, str) and default.startswith("http")):
        return (["http://127.0.0.1:8080", "https://user:pw@proxy.example:3128/"],
                ["ftp://x.example", "not a url", "http://", "http://host:port", "https:// spaced.example"])
    if isinstance(default, bool):
        return ["true", "0", "Yes", "off"], ["maybe", "2", "tru"]
    if isinstance(default, int):
        return [str(default), str(default + 7)], ["abc", "1.5", "-1", ""]
    if isinstance(default, float):
        return [str(default), "2.5", str(int(default) + 3)], ["abc", "nan", "inf", "-1", "1,5"]
    if isinstance(default, tuple):
        return ["a", "北交所, 北证50"], [",", " , "]
    if isinstance(default, str):
        return ["sentibot-test/1.0 (+mailto:x@example.com)"], ["a\nb", "tab\there"]
    raise AssertionError(f"{env}: no examples for a {type(default).__name__} setting; add them to this test")


def _error(f, raw: str) -> str:
    try:
        f.metadata["parse"](f.metadata["env"], raw)
    except ConfigError as exc:
        return str(exc)
    raise AssertionError(f"{f.metadata['env']} accepted {raw!r}")


SETTINGS = list(fields(Settings))
GOOD = [(f, raw) for f in SETTINGS for raw in _examples(f)[0]]
BAD = [(f, raw) for f in SETTINGS for raw in _examples(f)[1]]


def _id(item) -> str:
    f, raw = item
    return f"{f.metadata['env']}={raw!r}"


def test_defaults_need_no_environment():
    assert load_settings({}, env_file=None) == Settings()
    assert Settings().db == Path("data/sentibot.db")
    assert not Settings().telegram_configured


def test_every_setting_has_env_name_parser_and_doc():
    names = setting_names()
    assert len(names) == len(set(names))
    for f in SETTINGS:
        assert f.metadata["env"].startswith("SENTIBOT_")
        assert callable(f.metadata["parse"]) and f.metadata["doc"].strip()


@pytest.mark.parametrize("item", GOOD, ids=[_id(i) for i in GOOD])
def test_good_value_is_accepted(item):
    f, raw = item
    settings = load_settings({f.metadata["env"]: raw}, env_file=None)
    value = getattr(settings, f.name)
    assert value is not None
    if isinstance(f.default, bool):
        assert value is (raw.lower() in ("1", "true", "yes", "on"))
    elif isinstance(f.default, (int, float)):
        assert value == type(f.default)(raw)


@pytest.mark.parametrize("item", BAD, ids=[_id(i) for i in BAD])
def test_bad_value_gets_one_line_naming_the_setting(item):
    f, raw = item
    env = f.metadata["env"]
    with pytest.raises(ConfigError) as info:
        load_settings({env: raw}, env_file=None)
    message = str(info.value)
    assert message.startswith(f"{env}: ")
    assert "\n" not in message
    assert "expected" in message


def test_parsed_values():
    s = load_settings({
        "SENTIBOT_ADMIN_IDS": "12345, 67890", "SENTIBOT_GUBA_BARS": "zs899050, 830799,",
        "SENTIBOT_LOG_LEVEL": "debug", "SENTIBOT_GUBA_URL": "http://127.0.0.1:9000/",
        "SENTIBOT_TELEGRAM_API_URL": "http://127.0.0.1:8081/bot", "SENTIBOT_DB": "~/h.db",
        "SENTIBOT_MIN_INTERVAL_S": "0", "SENTIBOT_HTTP_PROXY": "",
    }, env_file=None)
    assert s.admin_ids == (12345, 67890)
    assert s.guba_bars == ("zs899050", "830799")
    assert s.log_level == "DEBUG"
    assert s.guba_url == "http://127.0.0.1:9000"  # trailing slash dropped: paths are appended
    assert s.telegram_api_url == "http://127.0.0.1:8081/bot"
    assert s.db == Path("~/h.db").expanduser()
    assert s.min_interval_s == 0.0
    assert s.http_proxy is None  # empty optional setting = not configured


def test_below_minimum_is_refused():
    with pytest.raises(ConfigError, match=r"^SENTIBOT_GUBA_MAX_PAGES: expected an integer >= 1, got '0'$"):
        load_settings({"SENTIBOT_GUBA_MAX_PAGES": "0"}, env_file=None)


def test_set_but_empty_required_setting_is_refused():
    with pytest.raises(ConfigError, match=r"^SENTIBOT_LOG_LEVEL: is set but empty; expected "):
        load_settings({"SENTIBOT_LOG_LEVEL": "  "}, env_file=None)


def test_env_file_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nSENTIBOT_GUBA_MAX_PAGES=7\nSENTIBOT_LOG_LEVEL=debug\nexport SENTIBOT_ADMIN_IDS=\"1,2\"\n",
        encoding="utf-8")
    s = load_settings({"SENTIBOT_LOG_LEVEL": "ERROR"}, env_file=env_file)
    assert s.guba_max_pages == 7
    assert s.admin_ids == (1, 2)
    assert s.log_level == "ERROR"
    assert load_settings({}, env_file=tmp_path / "missing.env") == Settings()


def test_keyword_overrides_win_over_everything(tmp_path):
    s = load_settings({"SENTIBOT_DB": "a.db"}, env_file=None, db=tmp_path / "b.db")
    assert s.db == tmp_path / "b.db"


def test_bad_value_in_env_file_names_the_setting(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SENTIBOT_HTTP_TIMEOUT_S=soon\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^SENTIBOT_HTTP_TIMEOUT_S: expected a number"):
        load_settings({}, env_file=env_file)


def test_env_file_not_utf8_is_a_clear_error(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_bytes("SENTIBOT_BAIDU_KEYWORDS=北交所\n".encode("gbk"))
    with pytest.raises(ConfigError, match=r"^settings file .*\.env: not UTF-8 text"):
        load_settings({}, env_file=env_file)


def test_unknown_setting_is_warned_about(caplog):
    with caplog.at_level(logging.WARNING, logger="sentibot.config"):
        load_settings({"SENTIBOT_TELEGRAM_TOKN": "x", "OTHER": "y"}, env_file=None)
    assert "SENTIBOT_TELEGRAM_TOKN" in caplog.text
    assert "OTHER" not in caplog.text


def test_token_never_in_repr_str_or_errors():
    proxy = "http://alice:s3cretpw@proxy.example:3128"
    s = load_settings({"SENTIBOT_TELEGRAM_TOKEN": TOKEN, "SENTIBOT_BAIDU_COOKIE": "BDUSS=cookiesecret",
                       "SENTIBOT_HTTP_PROXY": proxy}, env_file=None)
    assert s.telegram_token == TOKEN and s.telegram_configured  # usable where it is needed
    for shown in (repr(s), str(s), f"{s!r}", repr(s.telegram_token)):
        assert TOKEN not in shown and "AAHdqTcv" not in shown
        assert "cookiesecret" not in shown
        assert "s3cretpw" not in shown
    assert "proxy.example:3128" in repr(s)  # the host is still shown for debugging
    bad_token = "123456789:AAHdqTcv secret"
    with pytest.raises(ConfigError) as info:
        load_settings({"SENTIBOT_TELEGRAM_TOKEN": bad_token}, env_file=None)
    assert "AAHdqTcv" not in str(info.value) and "secret" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_settings({"SENTIBOT_BAIDU_COOKIE": "BDUSS=cookiesecret\nx"}, env_file=None)
    assert "cookiesecret" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_settings({"SENTIBOT_HTTP_PROXY": "socks5://alice:s3cretpw@proxy.example"}, env_file=None)
    assert "s3cretpw" not in str(info.value) and "***" in str(info.value)


def test_mask_url():
    assert mask_url("http://u:p@h:1/x") == "http://***@h:1/x"
    assert mask_url("https://h.example/x") == "https://h.example/x"
