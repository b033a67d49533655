"""Secrets: a full DEBUG-level run leaves the bot token (and the source credentials) nowhere in logs or errors.

Runs, as real subprocesses with SENTIBOT_LOG_LEVEL=DEBUG and every secret set: `sentibot run` against the fake Bot
API and local sites (collection cycles with blocked and failing sources, commands from users and the admin, failing
sends with 500/429/403, a user who pastes the token into a command), `sentibot collect` of every source, and the
start-up errors: token rejected by Telegram, Bot API unreachable, a malformed token, a bad other setting. Every byte
of stdout and stderr is searched for the token, its secret half, and the Baidu/WeChat credentials: 0 occurrences.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.support.e2e_world import World
from tests.support.fake_telegram import TOKEN, FakeTelegram

SECRETS = {"token": TOKEN, "token secret half": TOKEN.split(":", 1)[1], "baidu cookie": "BDUSS=sEcReTcOoKiE42xyz",
           "wechat openid": "oWx-SECRET-openid-777", "wechat search key": "SeArChKeY-secret-999"}
ADMIN = 9001


def secret_env(world: World, db: Path, api_url: str, token: str = TOKEN, **extra) -> dict:
    return world.env(db, api_url, token, SENTIBOT_LOG_LEVEL="DEBUG", SENTIBOT_BAIDU_COOKIE=SECRETS["baidu cookie"],
                     SENTIBOT_WECHAT_OPENID=SECRETS["wechat openid"],
                     SENTIBOT_WECHAT_SEARCH_KEY=SECRETS["wechat search key"], SENTIBOT_SEARCH_INTERVAL_S="1", **extra)


async def run_cli(args: list[str], env: dict, cwd: Path, timeout: float = 60) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "sentibot", *args, env=env, cwd=cwd,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, out.decode("utf-8", "replace")


def leaks(output: str) -> dict[str, int]:
    return {name: output.count(value) for name, value in SECRETS.items() if value in output}


@pytest.mark.slow
def test_a_full_debug_run_never_prints_a_secret(tmp_path):
    world = World()
    outputs: dict[str, str] = {}

    async def main():
        async with FakeTelegram() as fake:
            env = secret_env(world, tmp_path / "run.db", fake.base_url)
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "sentibot", "run", env=env,
                                                        cwd=tmp_path, stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.STDOUT)
            lines: list[str] = []

            async def read():
                async for line in proc.stdout:
                    lines.append(line.decode("utf-8", "replace"))

            reader = asyncio.create_task(read())
            deadline = time.monotonic() + 30
            while not any("event=jobs_registered" in x for x in lines) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert any("event=jobs_registered" in x for x in lines), "".join(lines)[-3000:]
            world.guba.captcha = True  # blocked collections; market/notices routes partly 404: failures
            fake.fail_next("sendMessage", "500", 2)
            fake.fail_next("sendMessage", "429", 1)
            fake.blocked.add(1003)
            for text, user in (("/start", 1001), ("/subscribe hot", 1002), (f"/subscribe {TOKEN}", 1001),
                               (f"/history {TOKEN}", 1001), ("/status", 1001), ("/subscribe", 1003),
                               ("/sources", ADMIN), ("/broadcast hello", ADMIN), (f"hello {TOKEN}", 1001)):
                fake.inject(text, user_id=user)
                await asyncio.sleep(0.3)
            await asyncio.sleep(3.0)  # several collection cycles at 1 s intervals, sender drains
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 20)
            await reader
            outputs["sentibot run"] = "".join(lines)
            assert len(fake.sent) >= 5, "the bot did not answer: the run did not exercise its paths"

            code, out = await run_cli(["collect"], secret_env(world, tmp_path / "c.db", fake.base_url), tmp_path)
            outputs["sentibot collect"] = out
            # an unreachable Bot API is not an error (issue 20): the run logs it once and keeps collecting
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "sentibot", "run", env=secret_env(world, tmp_path / "e2.db",
                                                                        "http://127.0.0.1:9/bot"),
                cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            await asyncio.sleep(4.0)
            proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(proc.communicate(), 20)
            outputs["api unreachable"] = out.decode("utf-8", "replace")
            assert proc.returncode == 0 and "event=telegram_unreachable" in outputs["api unreachable"]
            # start-up errors: rejected token, malformed token, a bad setting next to the token
            wrong = "999999:" + "x" * 30
            for name, env in {
                "token rejected": secret_env(world, tmp_path / "e1.db", fake.base_url),
                "malformed token": secret_env(world, tmp_path / "e3.db", fake.base_url, token=f" {TOKEN}\""),
                "bad admin ids": secret_env(world, tmp_path / "e4.db", fake.base_url, SENTIBOT_ADMIN_IDS="x,y"),
            }.items():
                if name == "token rejected":
                    fake.token = wrong  # the fake now answers 401 to our token
                code, out = await run_cli(["run"], env, tmp_path, timeout=40)
                fake.token = TOKEN
                assert code != 0, f"{name}: exit status 0\n{out[-2000:]}"
                assert "Traceback" not in out, f"{name}: traceback\n{out[-3000:]}"
                outputs[f"error: {name}"] = out

    try:
        asyncio.run(main())
    finally:
        world.close()
    run = outputs["sentibot run"]
    assert "level=DEBUG" in run, "the run did not log at DEBUG"
    assert "outcome=blocked" in run or "blocked" in run, "no blocked collection was logged"
    for name, text in outputs.items():
        print(f"--- {name}: {text.strip().splitlines()[-1][:160] if text.strip() else '(no output)'}")
    found = {name: leaks(text) for name, text in outputs.items() if leaks(text)}
    assert not found, f"secrets printed: {found}"
    total = sum(len(t.splitlines()) for t in outputs.values())
    print(f"\n{total:,} lines of DEBUG output from {len(outputs)} runs: 0 occurrences of any secret")
