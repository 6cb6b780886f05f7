"""Visitors chatting through two app instances, the way a browser with htmx and EventSource does.

Each visitor keeps one cookie jar and its CSRF token: it opens the chat on instance A,
posts each question there, and reads the answer's event stream from instance B. When a
stream breaks it reconnects, with Last-Event-ID, to the other instance, as a browser
behind a load balancer would. The load runs on an event loop in a thread of its own, so
the test can crash nodes and processes meanwhile with plain blocking calls.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
import time
from dataclasses import dataclass, field

import httpx2

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ASK_KEY = re.compile(r'name="ask_key" value="([^"]*)"')
CONVERSATION = re.compile(r'name="conversation_id" value="(\d*)"')
EXCHANGE_ID = re.compile(r'id="answer-(\d+)"')
STATUS = re.compile(r'class="msg answer status-(\w+)"')
ANSWER_BODY = re.compile(r'<div class="answer-body markdown">(.*?)</div>', re.DOTALL)
ANSWER_ERROR = re.compile(r'<p class="answer-error">(.*?)</p>', re.DOTALL)
# A final fragment that is a live answer again: htmx swaps it in and opens its stream.
SSE_CONNECT = re.compile(r'sse-connect="([^"]+)"')
NEW_STREAM = re.compile(r'sse-connect="/answers/(\d+)/stream')
TAG = re.compile(r"<[^>]+>")

# A person sends a question again after an error message, a few times at most.
RESENDS = 3
RESEND_PAUSE = 0.5
# EventSource reconnects on its own after a broken stream; a few times, then the chat counts as broken.
RECONNECTS = 4
RECONNECT_PAUSE = 0.5
REQUEST_TIMEOUT = httpx2.Timeout(15.0)
# An event stream may be silent for long stretches; only the chat's deadline bounds it.
STREAM_TIMEOUT = httpx2.Timeout(5.0, read=None)


def words(text: str) -> str:
    """Text with its whitespace normalised, for comparing answers."""
    return " ".join(text.split())


@dataclass
class Chat:
    """One question and what its visitor saw of the answer."""

    visitor: int
    number: int
    question: str
    exchange_id: int | None = None
    final: str = ""
    done: bool = False
    reconnects: int = 0
    resends: int = 0
    problems: list[str] = field(default_factory=list)
    retry: Chat | None = None

    @property
    def status(self) -> str | None:
        """The answer's status as the final fragment shows it (done, interrupted, error…)."""
        found = STATUS.search(self.final)
        return found.group(1) if found else None

    @property
    def answer(self) -> str:
        """The answer's text as the final fragment shows it."""
        found = ANSWER_BODY.search(self.final)
        return words(html.unescape(TAG.sub(" ", found.group(1)))) if found else ""

    @property
    def spooled(self) -> bool:
        """Whether the answer was shown from the instance's spool (the database did not take it in time)."""
        return "answer-spooled" in self.final

    def answered(self, expected: str) -> bool:
        """Whether the visitor saw the whole answer, finished."""
        return self.done and self.status == "done" and self.answer == words(expected)


@dataclass
class Load:
    """`visitors` browsers asking `chats` questions each, one after another, all at the same time."""

    instances: list[str]
    visitors: int = 20
    chats: int = 3
    # A chat not ended by then is a failure. Far longer than any chat takes (15 s at most with a
    # node killed, on two busy cores), so that a busy machine makes the scenario slower, not wrong.
    deadline: float = 60.0
    retry_unfinished: bool = False
    first_answer: threading.Event = field(default_factory=threading.Event, init=False)
    results: list[Chat] = field(default_factory=list, init=False)
    seconds: float = field(default=0.0, init=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _error: BaseException | None = field(default=None, init=False, repr=False)

    def start(self) -> Load:
        """Start the visitors in a background thread and return at once."""
        self._thread = threading.Thread(target=self._run, name="visitors", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float = 300) -> list[Chat]:
        """Wait for every visitor to finish; return every chat."""
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the visitors were still busy after {timeout:g} s")
        if self._error is not None:
            raise self._error
        return self.results

    def _run(self) -> None:
        started = time.monotonic()
        try:
            asyncio.run(self._visit_all())
        except Exception as error:  # noqa: BLE001  (handed to the test's thread by join())
            self._error = error
        finally:
            self.first_answer.set()  # never leave the test waiting for an answer that cannot come
            self.seconds = time.monotonic() - started

    async def _visit_all(self) -> None:
        per_visitor = await asyncio.gather(*(self._visit(number) for number in range(1, self.visitors + 1)))
        self.results = [chat for chats in per_visitor for chat in chats]

    async def _visit(self, number: int) -> list[Chat]:
        # Cookies ignore the port, so one jar serves both instances, as in one browser.
        async with httpx2.AsyncClient(timeout=REQUEST_TIMEOUT) as client:
            return await Visitor(number, self, client).visit()


class Visitor:
    """One browser: a cookie jar, the page's CSRF token and form, and its chats."""

    def __init__(self, number: int, load: Load, client: httpx2.AsyncClient) -> None:
        self.number = number
        self.load = load
        self.client = client
        self.page, self.streams = load.instances[0], load.instances[1]
        self.csrf = self.ask_key = self.conversation_id = ""

    async def visit(self) -> list[Chat]:
        """Open the chat, then ask every question in one conversation."""
        await self.open()
        chats = []
        for number in range(1, self.load.chats + 1):
            chat = Chat(
                self.number, number, f"Visitor {self.number}, question {number}: how do clusters fail?"
            )
            await self.ask(chat)
            chats.append(chat)
            if self.load.retry_unfinished and chat.exchange_id is not None and chat.status != "done":
                chat.retry = await self.retry(chat)
        return chats

    async def open(self) -> None:
        page = await self.client.get(f"{self.page}/")
        page.raise_for_status()
        self._read_form(page.text)

    def _read_form(self, fragment: str) -> None:
        """Keep the form fields a page or fragment hands back (htmx swaps them in out of band)."""
        for pattern, name in ((CSRF, "csrf"), (ASK_KEY, "ask_key"), (CONVERSATION, "conversation_id")):
            if found := pattern.search(fragment):
                setattr(self, name, found.group(1))

    async def ask(self, chat: Chat) -> None:
        """Post the question, sending the same form again after an error, then follow its answer."""
        form = {
            "question": chat.question,
            "conversation_id": self.conversation_id,
            "ask_key": self.ask_key,
            "csrf_token": self.csrf,
        }
        for attempt in range(RESENDS + 1):
            if attempt:
                chat.resends += 1
                await asyncio.sleep(RESEND_PAUSE)
            reply = await self._post(f"{self.page}/ask", form, chat, "/ask")
            if reply is not None:
                self._read_form(reply)
                chat.exchange_id = int(EXCHANGE_ID.search(reply).group(1))  # type: ignore[union-attr]
                await self.follow(chat)
                return

    async def retry(self, chat: Chat) -> Chat:
        """Press Retry on an answer that did not finish, then follow the new answer."""
        again = Chat(chat.visitor, chat.number, chat.question, chat.exchange_id)
        form = {"csrf_token": self.csrf}
        reply = await self._post(f"{self.page}/answers/{chat.exchange_id}/regenerate", form, again, "Retry")
        if reply is not None:
            # The new answer is a version of its own, beside the interrupted one: its stream is in the reply.
            self._read_form(reply)
            again.exchange_id = int(NEW_STREAM.search(reply).group(1))  # type: ignore[union-attr]
            await self.follow(again)
        return again

    async def _post(self, url: str, form: dict[str, str], chat: Chat, what: str) -> str | None:
        """Post a form as htmx does; the fragment on success, None (noted on the chat) otherwise."""
        try:
            response = await self.client.post(url, data=form, headers={"HX-Request": "true"})
        except httpx2.TransportError as error:
            chat.problems.append(f"{what}: {type(error).__name__}")
            return None
        if response.status_code != 200:
            chat.problems.append(
                f"{what}: HTTP {response.status_code} {TAG.sub(' ', response.text).strip()[:120]}"
            )
            return None
        return response.text

    async def follow(self, chat: Chat) -> None:
        """Read the events until a finished answer and `done`, reconnecting like EventSource and htmx.

        A stream that breaks is reopened, with Last-Event-ID, on the other instance. A
        final fragment that is a live answer again is swapped in by htmx, which opens its stream.
        """
        path, last_id = f"/answers/{chat.exchange_id}/stream", ""
        instances = [self.streams, self.page]
        try:
            async with asyncio.timeout(self.load.deadline):
                for attempt in range(RECONNECTS + 1):
                    if attempt:
                        chat.reconnects += 1
                        await asyncio.sleep(RECONNECT_PAUSE)
                    last_id = await self._stream(instances[attempt % 2] + path, chat, last_id)
                    if not chat.done:
                        continue
                    if live := SSE_CONNECT.search(chat.final):
                        chat.problems.append("final fragment was a live answer again")
                        path, last_id, chat.done = html.unescape(live.group(1)), "", False
                        continue
                    self._note_ending(chat)
                    return
                chat.problems.append(f"stream broke {RECONNECTS + 1} times")
        except TimeoutError:
            chat.problems.append(f"no end after {self.load.deadline:g} s (last event id {last_id or '-'})")

    def _note_ending(self, chat: Chat) -> None:
        if chat.status == "done":
            self.load.first_answer.set()
            return
        error = ANSWER_ERROR.search(chat.final)
        chat.problems.append(f"final {chat.status}: {words(TAG.sub(' ', error.group(1))) if error else '-'}")

    async def _stream(self, url: str, chat: Chat, last_id: str) -> str:
        """Read one event stream connection; return the last event id seen (for the reconnect)."""
        headers = {"Accept": "text/event-stream", **({"Last-Event-ID": last_id} if last_id else {})}
        try:
            async with self.client.stream("GET", url, headers=headers, timeout=STREAM_TIMEOUT) as response:
                if response.status_code != 200:
                    chat.problems.append(f"stream: HTTP {response.status_code}")
                    return last_id
                name, data = "message", []
                async for line in response.aiter_lines():
                    if line:
                        field_name, _, value = line.partition(": ")
                        if field_name == "event":
                            name = value
                        elif field_name == "data":
                            data.append(value)
                        elif field_name == "id":
                            last_id = value
                        continue
                    if name == "final":
                        chat.final = "\n".join(data)
                    elif name == "done":
                        chat.done = True
                        return last_id
                    name, data = "message", []
        except httpx2.TransportError as error:
            chat.problems.append(f"stream: {type(error).__name__}")
        return last_id
