"""The fake Bot API (tests/fake_telegram.py, asyncio) on its own event loop in a thread.

For tests and benchmarks that drive a `sentibot run` subprocess from synchronous code: every call crosses into the
fake's loop, so its state is only touched there.
"""

from __future__ import annotations

import asyncio
import threading
import time

from tests.support.fake_telegram import FakeTelegram, Sent


class ThreadedFake:
    def __enter__(self) -> ThreadedFake:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-telegram", daemon=True)
        self.thread.start()
        self.fake = FakeTelegram()
        self._call(self.fake.__aenter__())
        return self

    def __exit__(self, *exc) -> None:
        self._call(self.fake.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()

    def _call(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _run(self, fn, *args, **kwargs):
        async def inside():
            return fn(*args, **kwargs)

        return self._call(inside())

    @property
    def base_url(self) -> str:
        return self.fake.base_url

    def inject(self, text: str, **kwargs) -> int:
        return self._run(self.fake.inject, text, **kwargs)

    @property
    def sent(self) -> list[Sent]:
        return self._run(lambda: list(self.fake.sent))

    def sent_to(self, chat_id: int) -> list[Sent]:
        return self._run(self.fake.sent_to, chat_id)

    def wait_sent(self, count: int, timeout: float = 10.0, chat_id: int | None = None) -> list[Sent]:
        """Poll until at least count messages were accepted (to chat_id if given); returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.sent_to(chat_id) if chat_id is not None else self.sent
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.01)

    def wait_text(self, chat_id: int, needle: str, timeout: float, after: int = 0) -> Sent:
        """The first message to chat_id (from index `after` on) containing needle.

        AssertionError after timeout, naming the texts that did arrive.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.sent_to(chat_id)[after:]:
                if needle in message.text:
                    return message
            time.sleep(0.02)
        texts = [m.text[:120] for m in self.sent_to(chat_id)[after:]]
        raise AssertionError(f"no message with {needle!r} to {chat_id} within {timeout} s; got {texts}")
