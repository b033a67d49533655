"""`sentibot run`: one asyncio loop running the scheduler, collectors, scoring, alert delivery and the bot."""

from __future__ import annotations

import asyncio
import logging
import signal
from functools import partial
from collections.abc import Callable

from sentibot.run import jobs
from sentibot.config import Settings
from sentibot.errors import SentibotError
from sentibot.run.jobs import Runtime
from sentibot.run.schedule import DIGEST_TICK_S, add_to_scheduler
from sentibot.timeutil import SHANGHAI, now as shanghai_now

log = logging.getLogger("sentibot.run.service")

SHUTDOWN_GRACE_S = 4.0  # in-flight jobs and sends get this long to finish, then are cut off (stop within 10 s)


def register_jobs(add: Callable, rt: Runtime, collect_jobs: list[jobs.CollectJob]) -> list[str]:
    """Register every job through add(job_id, run, interval_s); returns the job ids."""
    ids = []
    for job in collect_jobs:
        add(job.id, partial(jobs.guarded, rt, job.id, partial(jobs.run_collect_job, rt, job)), job.cadence.tick_s)
        ids.append(job.id)
    add("send_outbox", partial(jobs.guarded, rt, "send_outbox", partial(jobs.send_outbox, rt)),
        rt.settings.sender_interval_s)
    ids.append("send_outbox")
    add("digest", partial(jobs.guarded, rt, "digest", partial(jobs.run_digest, rt)), DIGEST_TICK_S)
    ids.append("digest")
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
    except TimeoutError:
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
    from sentibot.run import backfill

    # day one: history first, then the first score; awaited by each mode after its start-up checks, before the jobs
    day_one = partial(backfill.run_until_stopped, rt, stop, collect_jobs)
    try:
        if settings.telegram_configured:
            await _serve_telegram(rt, collect_jobs, stop, day_one)
        else:
            log.warning("event=console_mode reason='SENTIBOT_TELEGRAM_TOKEN is not set' "
                        "effect='collection and scoring run; alerts are written to this log, not sent'")
            await _serve_console(rt, collect_jobs, stop, day_one)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await client.aclose()
        db.close()
        log.info("event=stopped mode=%s", mode)


def _start_scheduler(rt: Runtime, collect_jobs: list):
    """Every job on our own APScheduler in this loop: it runs whether or not Telegram answers."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(timezone=SHANGHAI)
    register_jobs(partial(add_to_scheduler, scheduler), rt, collect_jobs)
    scheduler.start()
    log.info("event=jobs_registered jobs=%s", ",".join(sorted(job.id for job in scheduler.get_jobs())))
    return scheduler


async def _serve_console(rt: Runtime, collect_jobs: list, stop: asyncio.Event, day_one=None) -> None:
    """No token: the jobs run and alerts go to the log."""
    jobs.start_console_cursor(rt.db, rt.clock())
    if day_one:
        await day_one()
    scheduler = _start_scheduler(rt, collect_jobs)
    await stop.wait()
    log.info("event=shutdown signal=received")
    scheduler.pause()
    await finish_inflight(rt)
    scheduler.shutdown(wait=False)


async def _serve_telegram(rt: Runtime, collect_jobs: list, stop: asyncio.Event, day_one=None) -> None:
    """With a token: the same jobs, plus the bot (bot/lifecycle.py), which connects whenever Telegram answers.

    Collection, scoring and queueing never wait for the Bot API: with Telegram blocked or down, the link retries
    with back-off and the outbox keeps the alerts until it answers (the sender is paused meanwhile).
    """
    from sentibot.alerts.outbox import Sender
    from sentibot.bot.application import build_application
    from sentibot.bot.lifecycle import BotLink

    app = build_application(rt.settings, rt.db)
    link = BotLink(app, rt.settings)
    rt.sender = Sender(app.bot, rt.db, app.bot_data["sender_config"], online=lambda: link.online)  # one per process
    app.bot_data["sender"] = rt.sender  # /broadcast sends through it too
    serving = asyncio.ensure_future(link.serve(stop))
    stopped = asyncio.ensure_future(stop.wait())
    scheduler = None
    try:
        # one attempt first, so that a rejected token ends the command before anything is collected
        tried = asyncio.ensure_future(link.tried.wait())
        await asyncio.wait([serving, stopped, tried], return_when=asyncio.FIRST_COMPLETED)
        tried.cancel()
        if not serving.done() and not stop.is_set():
            if day_one:  # a fresh history backfills before the jobs start (run/backfill.py)
                await day_one()
            scheduler = _start_scheduler(rt, collect_jobs)
            await asyncio.wait([serving, stopped], return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        log.info("event=shutdown signal=received")
        if scheduler:
            scheduler.pause()
        await asyncio.gather(finish_inflight(rt), stop_sender(rt.sender))  # both within one grace period
    finally:
        stop.set()
        stopped.cancel()
        if scheduler:
            scheduler.shutdown(wait=False)
        await serving  # polling stops, the Application shuts down; a rejected token raises ConfigError here
    if link.conflict:
        raise SentibotError("another instance is polling this bot token (Telegram answered 409 Conflict); "
                            "stop it or use another token")
