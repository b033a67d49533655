"""The one outbox: drains pending deliveries (alerts and admin broadcasts) under Telegram's limits, at most once
per chat and message.

A deliveries row names an alert or a broadcast and one chat. It is marked 'sending' (committed) before its request and
gets its outcome committed after it. A row found 'sending' by a later run (the process died mid-request) becomes
'unknown' and is never re-sent, and so does a request that timed out after it was fully written: Telegram may have
accepted it, and a duplicate is worse than a missing message (the operator sees 'unknown' rows in /sources).
Everything else is retried or settled: 429 -> retry after retry_after; 5xx / connection error -> retry with backoff;
403 -> subscriber inactive; 400 -> failed. Statuses: sentibot.models.DeliveryStatus.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from collections.abc import Callable

import httpx
from sqlite_utils import Database
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter,
                            TelegramError, TimedOut)

from sentibot.alerts import broadcasts
from sentibot import timeutil
from sentibot.models import DeliveryStatus
from sentibot.store import subscriptions
from sentibot.store import chats
from sentibot.store.db import alert_from_row

log = logging.getLogger(__name__)
UNREACHED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)  # nothing was sent


@dataclass(frozen=True)
class Limits:
    """Telegram's sending limits; the defaults are the documented ones. 0 = no limit."""

    overall_per_s: float = 30.0
    private_per_s: float = 1.0
    group_per_min: float = 20.0

    def chat_interval(self, chat_id: int) -> float:
        """Seconds between two messages to one chat (negative ids are groups and channels)."""
        if chat_id < 0:
            return 60.0 / self.group_per_min if self.group_per_min else 0.0
        return 1.0 / self.private_per_s if self.private_per_s else 0.0


NO_LIMITS = Limits(0, 0, 0)


@dataclass(frozen=True)
class SenderConfig:
    limits: Limits = Limits()
    concurrency: int = 32  # requests in flight at once
    send_timeout_s: float = 10.0  # read timeout of one send; past it the outcome is unknown
    backoff_s: float = 2.0  # first retry delay after a 5xx or connection error; doubles per attempt
    max_backoff_s: float = 300.0
    max_attempts: int = 8  # 5xx / connection errors beyond this many attempts end as failed
    stale_sending_s: float = 60.0  # a 'sending' row this old and not in flight here was interrupted
    default_language: str = "en"  # for a recipient with no /lang choice and no known Telegram language


@dataclass
class DrainStats:
    counts: dict = field(default_factory=dict)

    def add(self, outcome: str) -> None:  # a DeliveryStatus, or "retried"
        self.counts[outcome] = self.counts.get(outcome, 0) + 1

    def __getitem__(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _parse(stamp: str | None) -> datetime:
    moment = datetime.fromisoformat(stamp) if stamp else datetime.min
    return moment if moment.tzinfo else moment.replace(tzinfo=timeutil.SHANGHAI)


def render(row: dict, lang: str = "en", db: Database | None = None, bot_username: str | None = None) -> str:
    """The Telegram HTML of an alert row in lang; one formatter per kind lives in sentibot.alerts.texts, and the
    facts it words (the day's score, the notice and its stocks) come from db when given."""
    from sentibot.alerts.facts import alert_facts
    from sentibot.alerts.texts import format_alert

    alert = alert_from_row(row)
    return format_alert(alert, lang, alert_facts(db, alert, bot_username) if db is not None else None)


class Pacer:
    """Spaces request starts at least 1/rate apart (strict: never a burst)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


class Sender:
    """Drains the deliveries table through bot.send_message; one Sender per database and process."""

    def __init__(self, bot, db: Database, config: SenderConfig = SenderConfig(),
                 clock: Callable[[], datetime] = timeutil.now, online: Callable[[], bool] | None = None) -> None:
        self.bot, self.db, self.config, self.clock = bot, db, config, clock
        self.online = online  # False while the Bot API is unreachable: rows wait as 'pending', none is tried
        self._pacer = Pacer(config.limits.overall_per_s)
        self._chat_ready: dict[int, float] = {}  # chat_id -> monotonic time of its next allowed send
        self._in_flight: set[int] = set()  # ids of the deliveries this process claimed and has not settled
        self._texts: dict[tuple[int, str], str] = {}  # (alert_id, language) -> text: rendered once per language
        self._languages: dict[int, str] = {}  # chat_id -> language, read once per drain (store.chats)
        self._task: asyncio.Task | None = None
        self._stopping = False

    # --- job entry points ------------------------------------------------------------------------------------
    async def tick(self, context=None) -> None:
        """JobQueue callback: start a drain in the background unless one runs."""
        if self._stopping or (self.online is not None and not self.online()):
            return
        self._start_drain()

    def _start_drain(self) -> asyncio.Task:
        """The drain of this process: the running one, or a new one (one at a time, so no row is claimed twice)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.drain(), name="outbox-drain")
            self._task.add_done_callback(_log_crash)
        return self._task

    async def stop(self) -> None:
        """Stop claiming rows and let the requests in flight settle (bounded by the send timeout)."""
        self._stopping = True
        await asyncio.gather(*([self._task] if self._task else []), return_exceptions=True)

    # --- admin broadcasts (sentibot.alerts.broadcasts): stored, then sent by the drain like alerts --------------
    def start_broadcast(self, text: str, admin_id: int, chat_ids: list[int]) -> int:
        """Store a broadcast with a pending row per recipient; the next drain sends it, after a restart too."""
        return broadcasts.create(self.db, text, admin_id, chat_ids, self.clock())

    async def send_broadcast(self, broadcast_id: int) -> dict[str, int]:
        """Drain the outbox until the broadcast is finished or the sender stops; its recipients by status."""
        while not self._stopping and not broadcasts.is_finished(self.db, broadcast_id):
            if self.online is not None and not self.online():  # the Bot API is down: rows wait, as alerts do
                await asyncio.sleep(1.0)
                continue
            await asyncio.shield(self._start_drain())  # the handler's cancellation must not cut the drain off
            if self._stopping or broadcasts.is_finished(self.db, broadcast_id):
                break
            # retries are scheduled (a 429, a 5xx back-off), or another process holds a row: wait, then drain again
            delay = self._next_retry_in()
            await asyncio.sleep(min(max(delay if delay is not None else 1.0, 0.01), 5.0))
        return broadcasts.counts(self.db, broadcast_id)

    # --- the drain ---------------------------------------------------------------------------------------------
    async def drain(self, wait_retries: bool = False) -> DrainStats:
        """Send every due delivery; with wait_retries, also wait for scheduled retries until none is pending."""
        stats = DrainStats()
        slots = asyncio.Semaphore(self.config.concurrency)
        tasks: set[asyncio.Task] = set()
        while not self._stopping:
            now = time.monotonic()
            self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}  # keeps the map small
            self._settle_interrupted()
            self._cancel_unsubscribed(stats)
            broadcasts.finish_settled(self.db, self.clock())
            due = self._due_rows()
            unknown = list({r["chat_id"] for r in due} - self._languages.keys())
            if unknown:  # one batched read of the recipients' languages, not one query per message
                self._languages.update(chats.recipient_languages(self.db, unknown, self.config.default_language))
            for r in due:  # render before pacing starts: a first render (jieba for a notice's stocks) is slow
                try:
                    self._text(r)
                except Exception as exc:  # noqa: BLE001 - _send meets it again and settles the row as failed
                    log.debug("%s does not render yet: %r", _what(r), exc)
            heap = [(self._chat_ready.get(r["chat_id"], 0.0), n, r) for n, r in enumerate(due)]
            if not heap:
                if tasks:
                    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    continue
                delay = self._next_retry_in() if wait_retries else None
                if delay is None:
                    break
                await asyncio.sleep(min(max(delay, 0.01), 5.0))
                continue
            heapq.heapify(heap)
            while heap and not self._stopping:
                ready_at, n, row = heapq.heappop(heap)
                chat_id = row["chat_id"]
                if self._chat_ready.get(chat_id, 0.0) > ready_at:  # a 429 or a send moved this chat on
                    heapq.heappush(heap, (self._chat_ready[chat_id], n, row))
                    continue
                if ready_at > time.monotonic():
                    await asyncio.sleep(ready_at - time.monotonic())
                await slots.acquire()
                await self._pacer.wait()
                if self._stopping or not self._claim(row):
                    slots.release()
                    continue
                self._chat_ready[chat_id] = time.monotonic() + self.config.limits.chat_interval(chat_id)
                task = asyncio.create_task(self._send(row, stats))
                tasks.add(task)
                task.add_done_callback(functools.partial(_finished, tasks, slots))
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        broadcasts.finish_settled(self.db, self.clock())
        self._texts.clear()
        self._languages.clear()
        return stats

    def _due_rows(self, limit: int = 5000) -> list[dict]:
        """Pending rows due now, with what they carry: the alert's fields, or the broadcast's text."""
        now = self.clock()
        rows = self.db.query(
            "select d.id, d.alert_id, d.broadcast_id, d.chat_id, d.attempts, d.next_attempt_at, a.kind, a.ts,"
            " a.level, a.score, a.title, a.reasons, a.dedupe_key, a.stocks, b.text as broadcast_text"
            " from deliveries d left join alerts a on a.id = d.alert_id left join broadcasts b on b.id = d.broadcast_id"
            " where d.status = ? order by d.next_attempt_at, d.id limit ?", [DeliveryStatus.PENDING, limit])
        return [r for r in rows if _parse(r["next_attempt_at"]) <= now]

    def _next_retry_in(self) -> float | None:
        rows = list(self.db.query("select next_attempt_at from deliveries where status = ?", [DeliveryStatus.PENDING]))
        if not rows:
            return None
        first = min(_parse(r["next_attempt_at"]) for r in rows)
        return (first - self.clock()).total_seconds()

    def _claim(self, row: dict) -> bool:
        """Mark the row 'sending' (committed) before the request; False if it is no longer pending."""
        cursor = self.db.execute(
            "update deliveries set status = ?, attempts = attempts + 1, updated_at = ? where id = ? and status = ?",
            [DeliveryStatus.SENDING, _stamp(self.clock()), row["id"], DeliveryStatus.PENDING])
        if cursor.rowcount == 1:
            self._in_flight.add(row["id"])
            return True
        return False

    def _settle(self, row: dict, status: DeliveryStatus, *, error: str | None = None, message_id: int | None = None,
                retry_in: float | None = None) -> None:
        now = self.clock()
        self.db.execute(
            "update deliveries set status = ?, last_error = ?, message_id = coalesce(?, message_id),"
            " sent_at = case when ? then ? else sent_at end, next_attempt_at = ?, updated_at = ?"
            " where id = ? and status = ?",
            [status, error, message_id, status is DeliveryStatus.SENT, _stamp(now),
             _stamp(now + timedelta(seconds=retry_in)) if retry_in is not None else None, _stamp(now),
             row["id"], DeliveryStatus.SENDING])
        self._in_flight.discard(row["id"])

    def _settle_interrupted(self) -> None:
        """'sending' rows left by a dead process become 'unknown': they may have been delivered."""
        cutoff = self.clock() - timedelta(seconds=self.config.stale_sending_s)
        rows = list(self.db.query("select id, alert_id, broadcast_id, chat_id, updated_at from deliveries"
                                  " where status = ?", [DeliveryStatus.SENDING]))
        for r in rows:
            if r["id"] not in self._in_flight and _parse(r["updated_at"]) <= cutoff:
                self.db.execute("update deliveries set status = ?, last_error = ?, updated_at = ? where id = ?"
                                " and status = ?", [DeliveryStatus.UNKNOWN, "interrupted mid-send; not re-sent",
                                                    _stamp(self.clock()), r["id"], DeliveryStatus.SENDING])
                log.warning("%s to chat %s was interrupted mid-send: marked unknown", _what(r), r["chat_id"])

    def _cancel_unsubscribed(self, stats: DrainStats) -> None:
        """Pending rows of chats that unsubscribed meanwhile are cancelled: alerts to subscribers, and broadcasts."""
        cursor = self.db.execute(
            "update deliveries set status = ?, last_error = 'unsubscribed', updated_at = ?"
            " where status = ? and chat_id not in (select chat_id from subscribers where active = 1)"
            " and (broadcast_id is not null or (alert_id in (select id from alerts where audience = 'subscribers')"
            # a regulator alert naming a stock also goes to that stock's watchers, who may never have subscribed
            " and not exists (select 1 from alerts a, json_each(coalesce(a.stocks, '[]')) s, watches w"
            " where a.id = deliveries.alert_id and w.chat_id = deliveries.chat_id and w.code = s.value)))",
            [DeliveryStatus.CANCELLED, _stamp(self.clock()), DeliveryStatus.PENDING])
        for _ in range(max(cursor.rowcount, 0)):
            stats.add(DeliveryStatus.CANCELLED)

    def _language(self, chat_id: int) -> str:
        if chat_id not in self._languages:
            self._languages.update(chats.recipient_languages(self.db, [chat_id], self.config.default_language))
        return self._languages[chat_id]

    def _text(self, row: dict) -> str:
        if row["broadcast_id"] is not None:  # the admin's words, already HTML, the same in every language
            return row["broadcast_text"]
        key = (row["alert_id"], self._language(row["chat_id"]))
        if key not in self._texts:
            self._texts[key] = render(row, key[1], self.db, _username(self.bot))
        return self._texts[key]

    async def _send(self, row: dict, stats: DrainStats) -> None:
        chat_id, attempts = row["chat_id"], row["attempts"] + 1
        try:
            text = self._text(row)
            quiet = subscriptions.quiet_now(self.db, chat_id, self.clock())  # the chat's /quiet hours: no sound
            # link previews stay on for a broadcast: an admin's link is usually its point
            preview = LinkPreviewOptions(is_disabled=True) if row["alert_id"] is not None else None
            message = await self.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, link_preview_options=preview,
                disable_notification=quiet or None,
                read_timeout=self.config.send_timeout_s, write_timeout=self.config.send_timeout_s)
        except Exception as exc:  # a formatter bug, too, must not leave the row 'sending' forever
            status, error, retry_in = self._failure(chat_id, exc)
            if status is DeliveryStatus.PENDING and retry_in is None:
                self._retry(row, attempts, error, stats)
                return
            self._settle(row, status, error=error, retry_in=retry_in)
            stats.add("retried" if status is DeliveryStatus.PENDING else status)
            if not isinstance(exc, TelegramError):
                log.exception("%s to chat %s failed", _what(row), chat_id)
            elif status in (DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN):
                log.warning("%s to chat %s: %s (%s)", _what(row), chat_id, status, error)
        else:
            self._settle(row, DeliveryStatus.SENT, message_id=message.message_id)
            stats.add(DeliveryStatus.SENT)

    def _failure(self, chat_id: int, exc: Exception) -> tuple[DeliveryStatus, str, float | None]:
        """What a failed send means: (status, error, retry_in).

        'pending' is a retry: after retry_in, or with None, with backoff up to max_attempts. 'unknown' may have been
        delivered and is never re-sent. The chat's own consequences happen here: a 429 holds the chat back, a block
        unsubscribes it, a migrated group moves its subscription.
        """
        if isinstance(exc, RetryAfter):
            wait = _seconds(exc)
            self._chat_ready[chat_id] = time.monotonic() + wait
            return DeliveryStatus.PENDING, f"429 retry after {wait:g}s", wait
        if isinstance(exc, Forbidden):
            self._deactivate(chat_id, str(exc))
            return DeliveryStatus.BLOCKED, str(exc), None
        if isinstance(exc, BadRequest):  # before NetworkError: BadRequest is a subclass
            return DeliveryStatus.FAILED, f"400 {exc}", None
        if isinstance(exc, NetworkError) and isinstance(exc.__cause__, UNREACHED):
            # never reached Telegram (an outage, a blocked network): wait without using up max_attempts, so an
            # outage of any length loses nothing; the sender is paused meanwhile (BotLink.online)
            self._chat_ready[chat_id] = time.monotonic() + self.config.backoff_s * 4
            return DeliveryStatus.PENDING, f"Bot API unreachable: {exc}", self.config.backoff_s * 4
        if isinstance(exc, TimedOut):  # before NetworkError: TimedOut is a subclass
            return DeliveryStatus.UNKNOWN, "timed out after the request was sent; not re-sent", None
        if isinstance(exc, ChatMigrated):  # the group became a supergroup: later messages go to its new id
            self._migrate(chat_id, exc.new_chat_id)
            return DeliveryStatus.FAILED, f"chat migrated to {exc.new_chat_id}", None
        if isinstance(exc, InvalidToken):
            log.error("Telegram refused the bot token; delivery paused")
            return DeliveryStatus.PENDING, str(exc), self.config.max_backoff_s
        if isinstance(exc, NetworkError):  # 5xx and connection errors
            return DeliveryStatus.PENDING, str(exc), None
        return DeliveryStatus.FAILED, f"{type(exc).__name__}: {exc}", None

    def _retry(self, row: dict, attempts: int, error: str, stats: DrainStats) -> None:
        if attempts >= self.config.max_attempts:
            self._settle(row, DeliveryStatus.FAILED, error=f"gave up after {attempts} attempts: {error}")
            stats.add(DeliveryStatus.FAILED)
            return
        delay = min(self.config.backoff_s * 2 ** (attempts - 1), self.config.max_backoff_s)
        self._settle(row, DeliveryStatus.PENDING, error=error, retry_in=delay)
        stats.add("retried")

    def _deactivate(self, chat_id: int, reason: str) -> None:
        stamp = _stamp(self.clock())
        with self.db.atomic():
            self.db.execute("update subscribers set active = 0, updated_at = ? where chat_id = ?", [stamp, chat_id])
            self.db.execute("update deliveries set status = ?, last_error = ?, updated_at = ?"
                            " where chat_id = ? and status = ?",
                            [DeliveryStatus.BLOCKED, reason, stamp, chat_id, DeliveryStatus.PENDING])
        log.info("chat %s blocked the bot: unsubscribed", chat_id)

    def _migrate(self, old: int, new: int) -> None:
        """A group became a supergroup: its subscription moves to the new id (future alerts reach it)."""
        if next(self.db.query("select 1 from subscribers where chat_id = ?", [new]), None) is None:
            self.db.execute("update subscribers set chat_id = ?, updated_at = ? where chat_id = ?",
                            [new, _stamp(self.clock()), old])


def _what(row: dict) -> str:
    """'alert 7' or 'broadcast 3': what a delivery row carries, for the log."""
    return f"alert {row['alert_id']}" if row["alert_id"] is not None else f"broadcast {row['broadcast_id']}"


def _username(bot) -> str | None:
    """The bot's @username for deep links, or None before getMe ran (PTB raises then)."""
    try:
        return bot.username or None
    except RuntimeError:  # PTB: "ExtBot is not properly initialized"
        return None


def _seconds(exc: RetryAfter) -> float:
    value = getattr(exc, "_retry_after", None)  # PTB 22 warns on the public int form; read the timedelta first
    if not isinstance(value, timedelta):
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _finished(tasks: set[asyncio.Task], slots: asyncio.Semaphore, task: asyncio.Task) -> None:
    tasks.discard(task)
    slots.release()


def _log_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception():
        log.error("outbox drain stopped: %s", task.exception(), exc_info=task.exception())


async def drain_outbox(bot, db: Database, now: Callable[[], datetime] = timeutil.now, *,
                       config: SenderConfig = SenderConfig(), wait_retries: bool = False) -> DrainStats:
    """One drain of the outbox with a fresh Sender (tests, CLI); a long-running process keeps one Sender."""
    return await Sender(bot, db, config, clock=now).drain(wait_retries=wait_retries)


def schedule_sender(application, db: Database, interval_s: float, config: SenderConfig = SenderConfig()) -> Sender:
    """Register the sender on the application's JobQueue; call `await sender.stop()` before application.stop()."""
    sender = Sender(application.bot, db, config)
    application.job_queue.run_repeating(sender.tick, interval=interval_s, first=0.5, name="outbox-sender",
                                        job_kwargs={"max_instances": 1, "coalesce": True})
    application.bot_data["sender"] = sender
    return sender
