"""`sentibot run`: one asyncio loop running the scheduler, collectors, scoring, alert delivery and the bot."""

from __future__ import annotations

import asyncio
import logging
import signal
from functools import partial
from typing import Callable

from sentibot.run import jobs
from sentibot.config import Settings
from sentibot.errors import ConfigError, SentibotError
from sentibot.run.jobs import Runtime
from sentibot.run.schedule import add_to_job_queue, add_to_scheduler
from sentibot.timeutil import SHANGHAI, now as shanghai_now

log = logging.getLogger("sentibot.run.service")

SHUTDOWN_GRACE_S = 4.0  # in-flight jobs and sends get this long to finish, then are cut off (stop within 10 s)
LOG_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


class Redact(logging.Filter):
    """Replaces every secret (the bot token, cookies) in a log record's final text with ***."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            if any(s in text for s in self.secrets):
                for secret in self.secrets:
                    text = text.replace(secret, "***")
                record.msg, record.args = text, None
        return True


def configure_logging(settings: Settings) -> None:
    """key=value lines on stderr at SENTIBOT_LOG_LEVEL; secrets redacted; chatty libraries quietened."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(Redact([settings.telegram_token, settings.baidu_cookie,
                              settings.wechat_openid, settings.wechat_search_key]))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    # httpx logs every request URL at INFO, and the Bot API URL contains the token.
    for name in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))


def register_jobs(add: Callable, rt: Runtime, collect_jobs: list[jobs.CollectJob]) -> list[str]:
    """Register every job through add(job_id, run, interval_s); returns the job ids."""
    ids = []
    for job in collect_jobs:
        add(job.id, partial(jobs.guarded, rt, job.id, partial(jobs.run_collect_job, rt, job)), job.cadence.tick_s)
        ids.append(job.id)
    add("send_outbox", partial(jobs.guarded, rt, "send_outbox", partial(jobs.send_outbox, rt)),
        rt.settings.sender_interval_s)
    ids.append("send_outbox")
    return ids


async def finish_inflight(rt: Runtime, grace_s: float = SHUTDOWN_GRACE_S) -> None:
    """Let running jobs finish within grace_s, then cancel the rest (store writes are atomic, so none is half-done)."""
    rt.stopping.set()
    pending = {t for t in rt.inflight if not t.done()}
    if pending:
        log.info("event=stopping waiting_jobs=%d grace_s=%.0f", len(pending), grace_s)
        _, late = await asyncio.wait(pending, timeout=grace_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=1.0)


async def stop_sender(sender, grace_s: float = SHUTDOWN_GRACE_S) -> None:
    """Stop claiming deliveries and let sends in flight settle; a send cut off stays 'sending' -> 'unknown'."""
    try:
        await asyncio.wait_for(sender.stop(), timeout=grace_s)
    except asyncio.TimeoutError:
        log.warning("event=sender_cut_off grace_s=%.0f effect='rows in flight are settled as unknown at restart'",
                    grace_s)


async def serve(settings: Settings, stop: asyncio.Event | None = None, clock: Callable = shanghai_now) -> None:
    """Run until stop is set (SIGTERM/SIGINT set it): start-up checks, jobs, then an orderly shutdown."""
    from sentibot.collect.cycle import SOURCES
    from sentibot.collect.http import PoliteClient
    from sentibot.store.db import open_store

    stop = stop or asyncio.Event()
    db = open_store(settings.db)  # migrates the schema
    registered = list(SOURCES)
    configured, missing = jobs.source_configuration(settings, registered)
    collect_jobs = jobs.collect_jobs(settings, registered)
    client = PoliteClient.from_settings(settings)
    rt = Runtime(settings=settings, db=db, client=client, clock=clock)
    for job in collect_jobs:
        rt.last_run[job.id] = jobs.last_attempts(db, job)
    mode = "telegram" if settings.telegram_configured else "console"
    log.info("event=start mode=%s db=%s sources_configured=%s sources_not_configured=%s", mode, settings.db,
             ",".join(configured) or "-", ",".join(missing) or "-")
    if settings.telegram_configured and not settings.admin_ids:
        log.warning("event=no_admins effect='source_down alerts reach nobody on Telegram (set SENTIBOT_ADMIN_IDS)'")
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if settings.telegram_configured:
            await _serve_telegram(rt, collect_jobs, stop)
        else:
            log.warning("event=console_mode reason='SENTIBOT_TELEGRAM_TOKEN is not set' "
                        "effect='collection and scoring run; alerts are written to this log, not sent'")
            await _serve_console(rt, collect_jobs, stop)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await client.aclose()
        db.close()
        log.info("event=stopped mode=%s", mode)


async def _serve_console(rt: Runtime, collect_jobs: list, stop: asyncio.Event) -> None:
    """No token: the same jobs on our own APScheduler in this loop; alerts go to the log."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    jobs.start_console_cursor(rt.db, rt.clock())
    scheduler = AsyncIOScheduler(timezone=SHANGHAI)
    register_jobs(partial(add_to_scheduler, scheduler), rt, collect_jobs)
    scheduler.start()
    log.info("event=jobs_registered jobs=%s", ",".join(sorted(job.id for job in scheduler.get_jobs())))
    await stop.wait()
    log.info("event=shutdown signal=received")
    scheduler.pause()
    await finish_inflight(rt)
    scheduler.shutdown(wait=False)


async def _serve_telegram(rt: Runtime, collect_jobs: list, stop: asyncio.Event) -> None:
    """With a token: the bot's Application runs handlers and the JobQueue that runs every job."""
    from telegram.error import InvalidToken, NetworkError

    from sentibot.bot.application import build_application
    from sentibot.alerts.outbox import Sender
    from sentibot.bot.watchdog import PollingWatch

    watch = PollingWatch(rt.settings, on_conflict=stop.set)
    app = build_application(rt.settings, rt.db)
    rt.sender = Sender(app.bot, rt.db, app.bot_data["sender_config"])  # one sender per process keeps Telegram's rate limits across drains
    app.bot_data["sender"] = rt.sender  # /broadcast sends through it too
    updater = watch.updater(app.update_queue)  # our own poller, so the watchdog sees every successful poll
    try:
        await app.initialize()
        await updater.initialize()
    except InvalidToken:
        await app.shutdown()
        raise ConfigError("SENTIBOT_TELEGRAM_TOKEN: Telegram rejected the token (401/404)") from None
    except NetworkError as exc:
        await app.shutdown()
        raise SentibotError(f"cannot reach the Telegram Bot API at {rt.settings.telegram_api_url}: "
                            f"{str(exc).replace(str(rt.settings.telegram_token), '***')}") from None
    try:
        if app.post_init:
            await app.post_init(app)  # what run_polling would do: setMyCommands
        register_jobs(partial(add_to_job_queue, app.job_queue), rt, collect_jobs)
        add_to_job_queue(app.job_queue, "watch_polling",
                         partial(jobs.guarded, rt, "watch_polling", partial(watch.check, updater)), watch.tick_s)
        await app.start()  # handlers and the JobQueue
        await watch.start_polling(updater)
        log.info("event=jobs_registered jobs=%s", ",".join(sorted(j.id for j in app.job_queue.scheduler.get_jobs())))
        await stop.wait()
        log.info("event=shutdown signal=received")
        app.job_queue.scheduler.pause()
        await asyncio.gather(finish_inflight(rt), stop_sender(rt.sender))  # both within one grace period
    finally:
        if updater.running:
            await updater.stop()
        if app.running:
            await app.stop()
        await updater.shutdown()
        await app.shutdown()
    if watch.conflict:
        raise SentibotError("another instance is polling this bot token (Telegram answered 409 Conflict); "
                            "stop it or use another token")
