"""Log volume: a day of `sentibot bot` at default settings stays under 1,000 lines when nothing happens.

A real `sentibot bot` process runs against the fake Bot API on a compressed clock: the outbox sender ticks every
0.05 s instead of 2 s (40x) and getUpdates long-polls for 1 s instead of 10 s (10x). The lines it logs after
start-up, per sender tick and per poll, are scaled to a day at the default intervals (43,200 sender ticks and
8,640 polls) by the larger of the two ratios, and added to the start-up lines. The issue measured ~43,000 scheduler lines a day before the fix.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import pytest

from tests.support.fake_telegram import TOKEN, FakeTelegram

DAY_TICKS, DAY_POLLS = 86_400 / 2.0, 86_400 / 10.0  # defaults: SENTIBOT_SENDER_INTERVAL_S=2, 10 s long polls
TICK_S, RUN_S = 0.05, 12.0


@pytest.mark.slow
def test_a_quiet_day_of_sentibot_bot_logs_under_1000_lines(tmp_path):
    async def scenario():
        async with FakeTelegram() as fake:
            env = {k: v for k, v in os.environ.items() if not k.startswith("SENTIBOT_")}
            env.update(SENTIBOT_TELEGRAM_TOKEN=TOKEN, SENTIBOT_TELEGRAM_API_URL=fake.base_url,
                       SENTIBOT_SENDER_INTERVAL_S=str(TICK_S), SENTIBOT_POLLING_WATCHDOG_S="3")  # 1 s polls
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sentibot", "bot", "--db", str(tmp_path / "quiet.db"), env=env, cwd=tmp_path,
                stderr=asyncio.subprocess.PIPE)
            lines: list[tuple[float, str]] = []

            async def read():
                async for raw in proc.stderr:
                    lines.append((time.monotonic(), raw.decode(errors="replace").rstrip()))

            reader = asyncio.create_task(read())
            deadline = time.monotonic() + 30
            while not any("event=bot_serving" in text for _, text in lines) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            started = time.monotonic()
            polls_before = sum(c.method == "getUpdates" for c in fake.calls)
            await asyncio.sleep(RUN_S)
            steady = [text for ts, text in lines if ts >= started]
            polls = sum(c.method == "getUpdates" for c in fake.calls) - polls_before
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 20)
            await reader
            return lines, steady, polls

    lines, steady, polls = asyncio.run(scenario())
    startup = [text for _, text in lines][: len(lines) - len(steady)]
    assert any("event=bot_serving" in t for t in startup), lines[:20]
    ticks = RUN_S / TICK_S
    per_day = len(startup) + len(steady) * max(DAY_TICKS / ticks, DAY_POLLS / max(polls, 1))  # the larger scale
    print(f"\nstart-up {len(startup)} lines; steady {len(steady)} lines over {ticks:.0f} sender ticks and {polls} "
          f"polls; a quiet day at default settings: ~{per_day:.0f} lines (limit 1,000)")
    assert polls >= 5 and per_day < 1000, steady[:10]
    assert all(TOKEN not in t for _, t in lines)
