"""A small fake Telegram Bot API server on 127.0.0.1 for tests and benchmarks (stdlib asyncio, no dependency).

It runs on the caller's event loop (`async with FakeTelegram() as fake`), so it never competes with the bot for the
GIL: a threaded http.server fell to ~200 answers/s under 32 concurrent connections, this one serves >1,000/s.

It answers the methods sentibot uses with the real JSON shapes, records every accepted message with a monotonic
timestamp, lets a test inject updates (commands from any user in a private chat or a group), and injects faults on
demand: 429 with retry_after, 403 blocked, 400, 5xx, a hang without accepting, a hang after accepting, 409 on getUpdates.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from html.parser import HTMLParser
from collections.abc import Callable
from urllib.parse import parse_qs

TOKEN = "123456:TEST-token-for-the-fake-server"
BOT_ID = 123456
BOT_USERNAME = "sentibot_test_bot"
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span",
                "tg-spoiler", "tg-emoji", "blockquote"}
FAULTS = ("429", "403", "400", "500", "502", "hang", "hang_after_accept", "409", "migrate")


@dataclass
class Sent:
    """One accepted outgoing message (sendMessage or sendPhoto)."""

    method: str
    chat_id: int
    text: str
    ts: float  # time.monotonic() when accepted
    message_id: int
    params: dict = field(default_factory=dict)


@dataclass
class Call:
    """Every API call, accepted or not, with the fault answered (None = ok)."""

    method: str
    chat_id: int | None
    ts: float
    fault: str | None


class _HtmlCheck(HTMLParser):
    """Rejects what Telegram's HTML parse mode rejects: unknown or unbalanced tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.error = ""

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            self.error = self.error or f"Unsupported start tag \"{tag}\""
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.error = self.error or f"Unexpected end tag \"{tag}\""


def html_error(text: str) -> str:
    """'' when text is valid Telegram HTML, else the reason."""
    check = _HtmlCheck()
    check.feed(text)
    check.close()
    if not check.error and check.stack:
        return f"Can't find end tag corresponding to start tag \"{check.stack[-1]}\""
    return check.error


class FakeTelegram:
    """The fake Bot API; use as a context manager, point PTB's base_url at `base_url`."""

    def __init__(self, token: str = TOKEN, hang_s: float = 3.0, retry_after: float = 1, port: int = 0) -> None:
        self.token = token
        self.hang_s = hang_s  # how long a hanging request hangs (longer than the client's read timeout)
        self.retry_after = retry_after
        self.sent: list[Sent] = []
        self.calls: list[Call] = []
        self.menus: dict[str, list] = {}  # setMyCommands by language_code ("" = default)
        self.blocked: set[int] = set()  # chats whose user blocked the bot: always 403
        self.fault_rule: Callable[[str, dict], str | None] | None = None  # (method, params) -> fault or None
        self._one_shot: dict[str, list[str]] = {}
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()
        self.chat_admins: dict[int, set[int]] = {}  # group id -> user ids getChatMember calls administrators
        self.edits: list[tuple[int, int, str]] = []  # editMessageText calls: (chat_id, message_id, text)
        self.answered: list[tuple[str, str]] = []  # answerCallbackQuery: (callback id, text)
        self._callback_ids = itertools.count(1)
        self.proxied = 0  # requests that reached this server as an HTTP proxy (absolute-form request line)
        self._new_update = asyncio.Event()
        self._stopping = asyncio.Event()
        self._server: asyncio.base_events.Server | None = None
        self._port = port  # 0: any free port; a fixed one lets a test start the API late (the bot retries)

    # --- lifecycle -------------------------------------------------------------------------------------------
    async def __aenter__(self) -> FakeTelegram:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", self._port, backlog=1024)
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self._stopping.set()
        self._new_update.set()
        self._server.close()
        self._server.close_clients() if hasattr(self._server, "close_clients") else None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/bot"

    # --- test controls -----------------------------------------------------------------------------------------
    def fail_next(self, method: str, fault: str, count: int = 1) -> None:
        """The next `count` calls of method answer with fault (one of FAULTS)."""
        assert fault in FAULTS, fault
        self._one_shot.setdefault(method, []).extend([fault] * count)

    def inject(self, text: str, user_id: int = 1001, chat_id: int | None = None, chat_type: str = "private",
               username: str = "alice", language_code: str | None = None, anonymous: bool = False) -> int:
        """Queue an incoming message; a leading /command gets a bot_command entity, as Telegram sends it."""
        chat_id = user_id if chat_id is None else chat_id
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat.update(first_name=username, username=username)
        else:
            chat["title"] = f"group {chat_id}"
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat, "text": text,
                   "from": {"id": user_id, "is_bot": False, "first_name": username, "username": username}}
        if anonymous:  # an anonymous group admin: Telegram sends it as the group, from GroupAnonymousBot
            message["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
            message["sender_chat"] = chat
        if language_code is not None:  # Telegram sends the user's app language as an IETF tag, e.g. zh-hans
            message["from"]["language_code"] = language_code
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, "message": message, "_ts": time.monotonic()})
        self._new_update.set()
        return update_id

    def inject_callback(self, message: Sent, data: str, user_id: int = 1001, username: str = "alice") -> int:
        """Queue a tap on an inline button of a message the bot sent (callback_query with `data`)."""
        chat_type = "private" if message.chat_id > 0 else "supergroup"
        chat = {"id": message.chat_id, "type": chat_type}
        chat.update(first_name=username) if chat_type == "private" else chat.update(title=f"group {message.chat_id}")
        query = {"id": str(next(self._callback_ids)), "chat_instance": str(message.chat_id), "data": data,
                 "from": {"id": user_id, "is_bot": False, "first_name": username, "username": username},
                 "message": {"message_id": message.message_id, "date": int(time.time()), "chat": chat,
                             "text": message.text,
                             "from": {"id": BOT_ID, "is_bot": True, "first_name": "sentibot"}}}
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, "callback_query": query, "_ts": time.monotonic()})
        self._new_update.set()
        return update_id

    def message(self, chat_id: int, message_id: int) -> Sent | None:
        """The bot's message as it reads now (after any edits)."""
        return next((s for s in self.sent if s.chat_id == chat_id and s.message_id == message_id), None)

    def inject_button(self, data: str, user_id: int = 1001, chat_id: int | None = None,
                        chat_type: str = "private", message_id: int = 1) -> int:
        """Queue an inline-button press (a callback_query on one of the bot's messages)."""
        chat_id = user_id if chat_id is None else chat_id
        chat = {"id": chat_id, "type": chat_type}
        user = {"id": user_id, "is_bot": False, "first_name": "alice", "username": "alice"}
        message = {"message_id": message_id, "date": int(time.time()), "chat": chat, "text": "…",
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "sentibot", "username": BOT_USERNAME}}
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, "_ts": time.monotonic(), "callback_query": {
            "id": str(update_id), "from": user, "chat_instance": str(chat_id), "data": data, "message": message}})
        self._new_update.set()
        return update_id

    def sent_to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    # --- request handling ------------------------------------------------------------------
    def _fault(self, method: str, params: dict) -> str | None:
        queue = self._one_shot.get(method)
        if queue:
            return queue.pop(0)
        chat = params.get("chat_id")
        if method in ("sendMessage", "sendPhoto") and chat is not None and int(chat) in self.blocked:
            return "403"
        return self.fault_rule(method, params) if self.fault_rule else None

    async def handle(self, method: str, params: dict) -> tuple[int, dict]:
        """Answer one API call: (HTTP status, JSON body)."""
        fault = self._fault(method, params)
        chat = params.get("chat_id")
        now = time.monotonic()
        self.calls.append(Call(method, int(chat) if chat is not None else None, now, fault))
        if fault in ("hang", "hang_after_accept"):
            if fault == "hang_after_accept":
                await self._answer_ok(method, params)  # recorded as sent; the client never hears it
            try:
                await asyncio.wait_for(self._stopping.wait(), self.hang_s)
            except TimeoutError:
                pass
            return 504, _error(504, "Gateway Timeout")
        if fault == "429":
            return 429, _error(429, f"Too Many Requests: retry after {self.retry_after}",
                               {"retry_after": self.retry_after})
        if fault == "403":
            return 403, _error(403, "Forbidden: bot was blocked by the user")
        if fault == "400":
            return 400, _error(400, "Bad Request: chat not found")
        if fault == "migrate":  # a group upgraded to a supergroup: Telegram names the new id (-100 + the old one)
            return 400, _error(400, "Bad Request: group chat was upgraded to a supergroup chat",
                               {"migrate_to_chat_id": migrated_id(int(chat))})
        if fault in ("500", "502"):
            return int(fault), _error(int(fault), "Internal Server Error" if fault == "500" else "Bad Gateway")
        if fault == "409":
            return 409, _error(409, "Conflict: terminated by other getUpdates request; make sure that only one "
                                    "bot instance is running")
        return await self._answer_ok(method, params)

    async def _answer_ok(self, method: str, params: dict) -> tuple[int, dict]:
        if method == "getMe":
            return 200, _ok({"id": BOT_ID, "is_bot": True, "first_name": "sentibot", "username": BOT_USERNAME,
                             "can_join_groups": True, "can_read_all_group_messages": False,
                             "supports_inline_queries": False})
        if method == "getChatMember":
            return 200, _ok(_member(int(params["chat_id"]), int(params["user_id"]), self.chat_admins))
        if method == "editMessageText":
            return self._edit(params)
        if method == "answerCallbackQuery":
            self.answered.append((params.get("callback_query_id", ""), params.get("text", "")))
        if method in ("deleteWebhook", "setMyCommands", "sendChatAction", "answerCallbackQuery", "close"):
            if method == "setMyCommands":
                self.commands = json.loads(params.get("commands", "[]"))
                # per language_code ("" = the default menu), as Telegram keeps one menu per language
                self.menus[params.get("language_code", "")] = self.commands
            return 200, _ok(True)
        if method == "getUpdates":
            return 200, _ok(await self._get_updates(params))
        if method in ("sendMessage", "sendPhoto"):
            return self._send(method, params)
        return 404, _error(404, "Not Found")

    def _send(self, method: str, params: dict) -> tuple[int, dict]:
        text = params.get("text", params.get("caption", ""))
        if "chat_id" not in params:
            return 400, _error(400, "Bad Request: chat_id is empty")
        if method == "sendMessage" and not text.strip():
            return 400, _error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > (4096 if method == "sendMessage" else 1024):  # Telegram counts UTF-16
            return 400, _error(400, "Bad Request: message is too long")
        if params.get("parse_mode") == "HTML" and (problem := html_error(text)):
            return 400, _error(400, f"Bad Request: can't parse entities: {problem}")
        if method == "sendPhoto" and not params.get("_photo_bytes"):
            return 400, _error(400, "Bad Request: there is no photo in the request")
        chat_id = int(params["chat_id"])
        message_id = next(self._message_ids)
        self.sent.append(Sent(method, chat_id, text, time.monotonic(), message_id, params))
        chat_type = "private" if chat_id > 0 else "supergroup"
        result = {"message_id": message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": chat_type},
                  "from": {"id": BOT_ID, "is_bot": True, "first_name": "sentibot", "username": BOT_USERNAME}}
        if method == "sendMessage":
            result["text"] = text
        else:
            size = len(params["_photo_bytes"])
            result["photo"] = [{"file_id": f"photo{message_id}", "file_unique_id": f"u{message_id}",
                                "width": 1280, "height": 720, "file_size": size}]
            if text:
                result["caption"] = text
        return 200, _ok(result)

    def _edit(self, params: dict) -> tuple[int, dict]:
        """editMessageText as Telegram answers it, 'message is not modified' included."""
        chat_id, message_id, text = int(params["chat_id"]), int(params["message_id"]), params.get("text", "")
        found = self.message(chat_id, message_id)
        if found is None:
            return 400, _error(400, "Bad Request: message to edit not found")
        if params.get("parse_mode") == "HTML" and (problem := html_error(text)):
            return 400, _error(400, f"Bad Request: can't parse entities: {problem}")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return 400, _error(400, "Bad Request: message is too long")
        markup = params.get("reply_markup")
        if found.text == text and found.params.get("reply_markup") == markup:
            return 400, _error(400, "Bad Request: message is not modified: specified new message content and reply "
                                    "markup are exactly the same as a current content and reply markup of the message")
        found.text = text
        found.params = {**found.params, "reply_markup": markup}
        self.edits.append((chat_id, message_id, text))
        return 200, _ok({"message_id": message_id, "date": int(time.time()), "text": text,
                         "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}})

    async def _get_updates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset", 0) or 0)
        timeout = float(params.get("timeout", 0) or 0)
        limit = int(params.get("limit", 100) or 100)
        deadline = time.monotonic() + timeout
        while True:
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]  # confirmed ones go
            ready = self._updates[:limit]
            left = deadline - time.monotonic()
            if ready or left <= 0 or self._stopping.is_set():
                return [{k: v for k, v in u.items() if k != "_ts"} for u in ready]
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), left)
            except TimeoutError:
                pass

    # --- HTTP/1.1 with keep-alive: enough for httpx (Content-Length bodies) ---------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            while not self._stopping.is_set():  # a stopped fake serves no further request on a kept-alive
                head = await reader.readuntil(b"\r\n\r\n")  # connection (wait_for can swallow a cancel)
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                if path.startswith("http://"):  # absolute form: the client came through it as an HTTP proxy
                    self.proxied += 1
                    path = "/" + path.split("/", 3)[3]
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                status, payload = await self._route(path, headers.get("content-type", ""), body)
                data = json.dumps(payload).encode()
                writer.write(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (status, len(data), data))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _route(self, path: str, content_type: str, body: bytes) -> tuple[int, dict]:
        prefix = f"/bot{self.token}/"
        if not path.startswith("/bot"):
            return 404, _error(404, "Not Found")
        if not path.startswith(prefix):
            return 401, _error(401, "Unauthorized")
        try:
            params = _parse_body(content_type, body)
        except ValueError as exc:
            return 400, _error(400, f"Bad Request: {exc}")
        return await self.handle(path[len(prefix):].split("?")[0], params)


def _member(chat_id: int, user_id: int, admins: dict[int, set[int]]) -> dict:
    """A ChatMember: administrator for the ids in admins[chat_id] (and in a private chat, its user), else member."""
    user = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
    if user_id in admins.get(chat_id, set()) or chat_id == user_id:
        rights = dict.fromkeys(("can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
                                "can_manage_video_chats", "can_restrict_members", "can_promote_members",
                                "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
                                "can_delete_stories"), False)
        return {"status": "administrator", "user": user, **rights}
    return {"status": "member", "user": user}


def migrated_id(chat_id: int) -> int:
    """The supergroup id a migrated group gets in this fake."""
    return int(f"-100{abs(chat_id)}")


def _ok(result) -> dict:
    return {"ok": True, "result": result}


def _error(code: int, description: str, parameters: dict | None = None) -> dict:
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def _parse_body(content_type: str, body: bytes) -> dict:
    """Form-encoded or multipart parameters as str values; a multipart photo lands in _photo_bytes."""
    if content_type.startswith("multipart/form-data"):
        msg = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        params: dict = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                params["_photo_bytes"] = payload
            else:
                params[name] = payload.decode()
        return params
    if content_type.startswith("application/json"):
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(body or b"{}").items()}
    return {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
