"""Service pieces: job grouping, configuration line, console delivery, redaction, job registration, shutdown."""

import asyncio
import os
import logging
from datetime import datetime

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from sentibot import logs
from sentibot.run import jobs, service
from sentibot.store import db as store
from sentibot.config import load_settings
from sentibot.run.jobs import Runtime
from sentibot.models import Alert, AlertKind
from sentibot.run.schedule import add_to_scheduler
from sentibot.timeutil import SHANGHAI

NOW = datetime(2023, 11, 27, 10, 0, tzinfo=SHANGHAI)


def settings(tmp_path, **env):
    base = {"SENTIBOT_DB": str(tmp_path / "s.db")}
    return load_settings({**base, **env}, env_file=None)


def test_collect_jobs_group_sources_with_their_cadences(tmp_path):
    s = settings(tmp_path, SENTIBOT_GUBA_INTERVAL_S="120", SENTIBOT_OFF_HOURS_INTERVAL_S="900",
                 SENTIBOT_NOTICES_INTERVAL_S="60")
    got = {j.id: j for j in jobs.collect_jobs(s, ["guba", "market", "notices", "baidu_index", "wechat_index"])}
    assert list(got) == ["collect_guba", "collect_market", "collect_notices", "collect_search"]
    assert (got["collect_guba"].cadence.session_s, got["collect_guba"].cadence.off_s) == (120, 900)
    assert got["collect_notices"].cadence.session_s == got["collect_notices"].cadence.off_s == 60
    assert got["collect_search"].sources == ("baidu_index", "wechat_index")
    assert [j.id for j in jobs.collect_jobs(s, ["guba"])] == ["collect_guba"]  # no empty jobs


def test_source_configuration_names_the_missing_setting(tmp_path):
    s = settings(tmp_path, SENTIBOT_WECHAT_OPENID="o", SENTIBOT_WECHAT_SEARCH_KEY="k")
    ok, missing = jobs.source_configuration(s, ["guba", "baidu_index", "wechat_index"])
    assert ok == ["guba", "wechat_index"]
    assert missing == ["baidu_index(needs SENTIBOT_BAIDU_COOKIE)"]


def _alert(key: str, kind=AlertKind.REGULATOR_WARNING) -> Alert:
    return Alert(kind=kind, ts="2023-11-27T18:00:00+08:00", title=f"warning {key} <b>", dedupe_key=key)


def test_console_delivery_logs_each_new_alert_once_and_marks_its_deliveries(tmp_path, caplog):
    db = store.open_store(tmp_path / "s.db")
    db["subscribers"].insert({"chat_id": 7, "user_id": 7, "chat_type": "private", "min_level": "hot", "active": 1})
    store.add_alert(db, _alert("old"), "2023-11-27T09:00:00+08:00")
    assert jobs.start_console_cursor(db, NOW) == 1  # history before start-up is not replayed to the log
    new_id = store.add_alert(db, _alert("new"), "2023-11-27T10:00:00+08:00")
    with caplog.at_level(logging.WARNING, logger="sentibot.run.service"):
        assert jobs.deliver_to_console(db, NOW) == 1
        assert jobs.deliver_to_console(db, NOW) == 0
    lines = [r.getMessage() for r in caplog.records if "alert_console" in r.getMessage()]
    assert len(lines) == 1 and f"id={new_id}" in lines[0] and "kind=regulator_warning" in lines[0]
    statuses = {r["alert_id"]: r["status"] for r in db.query("select alert_id, status from deliveries")}
    assert statuses == {1: "pending", new_id: "console"}
    assert jobs.start_console_cursor(db, NOW) == new_id  # a restart continues where it stopped


def test_redact_hides_the_token_in_any_log_line(caplog):
    token = "123456:SECRET-token"
    logs.protect(token, "")
    record = logging.getLogRecordFactory()("httpx", logging.INFO, __file__, 1, "POST %s/getUpdates",
                                           (f"http://x/bot{token}",), None)
    assert token not in record.getMessage() and "bot***" in record.getMessage()
    assert logs.redact(f"error at bot{token}/x") == "error at bot***/x"


def test_configure_logging_uses_the_level_setting_and_quietens_httpx(tmp_path):
    s = settings(tmp_path, SENTIBOT_LOG_LEVEL="debug")
    logs.configure_logging(s)
    try:
        assert logging.getLogger().level == logging.DEBUG
        assert logging.getLogger("httpx").level == logging.WARNING
    finally:
        logs.configure_logging(settings(tmp_path))


def test_configure_logging_redacts_every_secret_setting(tmp_path):
    s = settings(tmp_path, SENTIBOT_BAIDU_COOKIE="BDUSS=cookie-secret-42", SENTIBOT_LOG_LEVEL="info")
    logs.configure_logging(s)  # replaces the root handlers (caplog's too), so the test adds its own after it
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        logging.getLogger("sentibot.test").info("fetch with cookie %s", "BDUSS=cookie-secret-42")
        assert seen == ["fetch with cookie ***"]
    finally:
        logging.getLogger().removeHandler(handler)
        logs.configure_logging(settings(tmp_path))


def test_last_attempts_restores_the_cadence_after_a_restart(tmp_path):
    db = store.open_store(tmp_path / "s.db")
    job = jobs.CollectJob("collect_search", ("baidu_index", "wechat_index"), jobs.Cadence(86400, 86400))
    assert jobs.last_attempts(db, job) is None
    db["source_health"].insert_all([{"source": "baidu_index", "last_attempt_at": "2023-11-27T08:00:00+08:00"},
                                    {"source": "wechat_index", "last_attempt_at": "2023-11-27T09:00:00+08:00"}])
    assert jobs.last_attempts(db, job) == datetime(2023, 11, 27, 8, 0, tzinfo=SHANGHAI)


def test_guarded_logs_a_failing_job_and_keeps_going(tmp_path, caplog):
    rt = Runtime(settings=settings(tmp_path), db=None, client=None, clock=lambda: NOW)

    async def boom():
        raise RuntimeError("source exploded")

    with caplog.at_level(logging.ERROR, logger="sentibot.run.service"):
        asyncio.run(jobs.guarded(rt, "collect_guba", boom))
    assert any("event=job_failed job=collect_guba" in r.getMessage() for r in caplog.records)
    assert not rt.inflight


def test_shutdown_cancels_a_stuck_job_within_the_grace(tmp_path, caplog):
    async def scenario():
        rt = Runtime(settings=settings(tmp_path), db=None, client=None, clock=lambda: NOW)
        finished = []

        async def quick():
            await asyncio.sleep(0.05)
            finished.append("quick")

        async def stuck():
            await asyncio.sleep(3600)

        runs = [asyncio.create_task(jobs.guarded(rt, "send_outbox", quick)),
                asyncio.create_task(jobs.guarded(rt, "collect_guba", stuck))]
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await service.finish_inflight(rt, grace_s=0.3)
        await asyncio.gather(*runs)
        took = loop.time() - start
        await jobs.guarded(rt, "collect_guba", quick)  # nothing new starts once stopping
        return finished, took

    with caplog.at_level(logging.WARNING, logger="sentibot.run.service"):
        finished, took = asyncio.run(scenario())
    assert finished == ["quick"]  # the quick job finished, the stuck one was cancelled, no new run
    assert took < 2
    assert any("event=job_cancelled job=collect_guba" in r.getMessage() for r in caplog.records)


def test_register_jobs_twice_keeps_one_job_per_id(tmp_path):
    async def scenario():
        scheduler = AsyncIOScheduler(timezone=SHANGHAI)
        scheduler.start(paused=True)
        rt = Runtime(settings=settings(tmp_path), db=None, client=None, clock=lambda: NOW)
        collect = jobs.collect_jobs(rt.settings, ["guba", "market", "notices", "baidu_index"])
        try:
            for _ in range(2):
                ids = service.register_jobs(lambda *a: add_to_scheduler(scheduler, *a), rt, collect)
            return ids, sorted(job.id for job in scheduler.get_jobs())
        finally:
            scheduler.shutdown(wait=False)

    ids, registered = asyncio.run(scenario())
    assert registered == sorted(ids) == ["collect_guba", "collect_market", "collect_notices", "collect_search",
                                         "digest", "send_outbox"]


def test_guarded_runs_one_instance_of_a_job_at_a_time(tmp_path):
    async def scenario():
        rt = Runtime(settings=settings(tmp_path), db=None, client=None, clock=lambda: NOW)
        runs = []

        async def slow():
            runs.append(1)
            await asyncio.sleep(0.1)

        await asyncio.gather(*(jobs.guarded(rt, "collect_guba", slow) for _ in range(3)),
                             jobs.guarded(rt, "collect_market", slow))
        await jobs.guarded(rt, "collect_guba", slow)  # free again once the first run ended
        return runs, rt.running

    runs, running = asyncio.run(scenario())
    assert len(runs) == 3 and not running  # guba once + market once, then guba again


def test_a_rejected_token_ends_with_one_line_naming_the_setting(tmp_path):
    from tests.support.fake_telegram import FakeTelegram

    from sentibot.errors import ConfigError

    async def scenario():
        async with FakeTelegram() as fake:
            s = settings(tmp_path, SENTIBOT_TELEGRAM_TOKEN="999:WRONG-token", SENTIBOT_TELEGRAM_API_URL=fake.base_url)
            await service.serve(s)

    with pytest.raises(ConfigError) as caught:
        asyncio.run(scenario())
    message = str(caught.value)
    assert message.startswith("SENTIBOT_TELEGRAM_TOKEN:") and "WRONG" not in message and "\n" not in message


@pytest.mark.slow
def test_collect_job_runs_when_due_and_rescores_after_an_update(tmp_path, caplog):
    from datetime import timedelta

    from tests.support.e2e_world import CALM_AMOUNT, CALM_CLOSE, World, preload_calm_history

    from sentibot.collect.http import PoliteClient

    world = World()
    try:
        world.serve_market(NOW.date(), close=CALM_CLOSE, amount=CALM_AMOUNT, clist_scale=1.0)
        s = load_settings(world.env(tmp_path / "s.db", "http://127.0.0.1:9/bot", ""), env_file=None)
        preload_calm_history(s.db, NOW.date())
        clock = [NOW]

        async def scenario():
            db = store.open_store(s.db)
            client = PoliteClient.from_settings(s)
            rt = Runtime(settings=s, db=db, client=client, clock=lambda: clock[0])
            job = jobs.collect_jobs(s, ["market"])[0]
            try:
                first = await jobs.run_collect_job(rt, job)
                clock[0] = NOW + timedelta(seconds=0.2)
                too_soon = await jobs.run_collect_job(rt, job)  # interval 1 s: not due yet
                clock[0] = NOW + timedelta(seconds=1)
                again = await jobs.run_collect_job(rt, job)
                scores = db["scores"].count
            finally:
                await client.aclose()
                db.close()
            return first, too_soon, again, scores

        with caplog.at_level(logging.INFO, logger="sentibot.run.service"):
            first, too_soon, again, scores = asyncio.run(scenario())
    finally:
        world.close()
    assert [r.outcome.value for r in first] == ["ok"] and too_soon == [] and len(again) == 1
    assert scores > 0  # the market update was scored at once
    assert sum("event=rescored" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.slow
def test_run_command_start_up_errors_are_one_line(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTIBOT_")}
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database")
    bad_db = subprocess.run([sys.executable, "-m", "sentibot", "run", "--db", str(not_sqlite)], env=env,
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert bad_db.returncode == 1 and "not a SQLite database" in bad_db.stderr, bad_db.stderr
    assert not_sqlite.read_text() == "not a database"  # left untouched
    assert len(bad_db.stderr.strip().splitlines()) == 1 and "Traceback" not in bad_db.stderr
    bad_setting = subprocess.run([sys.executable, "-m", "sentibot", "run"], capture_output=True, text=True,
                                 env=dict(env, SENTIBOT_GUBA_INTERVAL_S="0"), timeout=60, cwd=tmp_path)
    assert bad_setting.returncode == 1 and "SENTIBOT_GUBA_INTERVAL_S" in bad_setting.stderr
    assert len(bad_setting.stderr.strip().splitlines()) == 1
