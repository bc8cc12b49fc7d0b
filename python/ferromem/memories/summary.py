"""`SummaryMemory`: every turn, plus a running summary per session (an LLM's, or ferromem's own)."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from .. import _core
from ..base import ContextSection, SessionScope, TokenCounter
from ..errors import InvalidArgumentError, InvalidTypeError, SummarizerError
from ..message import AllSessions, Message, chrono_key
from ..stores.base import Conflict
from .dict_memory import check_positive_int
from .in_memory import InMemoryBackend

__all__ = ["SummaryMemory", "Summarizer"]

#: ``list[Message] -> str``, or a coroutine function returning ``str`` (an LLM call).
Summarizer = Callable[[list[Message]], str | Awaitable[str]]

#: Role of the message that carries the summary so far into the summarizer.
SUMMARY_ROLE = "summary"
#: The built-in summariser re-reads at most this many of a session's newest messages; older
#: ones are represented by the previous summary.
SUMMARY_WINDOW = 500
#: The built-in summary takes at most this share of the tokens it summarises, so it compresses
#: even a short conversation (but it may always take :data:`MIN_SUMMARY_TOKENS`).
SUMMARY_RATIO = 1 / 3
MIN_SUMMARY_TOKENS = 32

R = TypeVar("R")


class SummaryMemory(InMemoryBackend):
    """Keeps every turn and a running summary of each session.

    Every ``summarize_after`` new messages of a session, the summary is brought up to date from
    the previous summary and the new messages. ``summarizer`` is any callable ``list[Message] ->
    str`` (an LLM, or a coroutine function, which :meth:`aadd_message` awaits); it receives the
    new messages, preceded by a message with role ``"summary"`` holding the summary so far when
    there is one. With no summarizer, ferromem's extractive summariser (Rust, no model) keeps the
    most important and most central sentences within ``summary_tokens`` and within a third of the
    tokens summarised so far (a short conversation may always take 32).

    A summarizer that raises or returns something other than a ``str`` raises
    :class:`~ferromem.SummarizerError`; the messages stay stored and the summary is retried with
    the next message. :meth:`get_context` leads with the summary, then the recent turns.
    """

    def __init__(
        self,
        summarizer: Summarizer | None = None,
        summarize_after: int = 5,
        *,
        summary_tokens: int = 256,
        session_id: str | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
        super().__init__(session_id=session_id, token_counter=token_counter)
        if summarizer is not None and not callable(summarizer):
            raise InvalidTypeError(
                f"summarizer must be callable (list[Message] -> str), not "
                f"{type(summarizer).__name__}"
            )
        self.summarizer = summarizer
        self.summarize_after = check_positive_int(summarize_after, "summarize_after")
        self.summary_tokens = check_positive_int(summary_tokens, "summary_tokens")
        self._summaries: dict[str, str] = {}
        # The built-in summariser's summary as (role, text) lines, re-read on the next round.
        self._lines: dict[str, list[tuple[str, str]]] = {}
        # Messages stored but not yet folded into the summary, per session, in arrival order.
        self._pending: dict[str, dict[str, Message]] = {}
        self._folded: dict[str, int] = {}
        self._folded_tokens: dict[str, int] = {}
        self._busy: set[str] = set()
        self._rounds = 0
        # Set in the worker thread of the async twins: summarising then happens in the loop.
        self._deferred = threading.local()

    saved_settings = ("summarize_after", "summary_tokens")

    def _extra_state(self) -> dict[str, Any]:
        return {
            "summaries": self._summaries,
            "lines": {sid: [list(x) for x in lines] for sid, lines in self._lines.items()},
            "pending": {sid: list(msgs) for sid, msgs in self._pending.items()},
            "folded": self._folded,
            "folded_tokens": self._folded_tokens,
            "rounds": self._rounds,
        }

    def _restore_extra_state(self, state: dict[str, Any]) -> None:
        store = self._memory_store
        self._summaries = {str(k): str(v) for k, v in state.get("summaries", {}).items()}
        self._lines = {
            str(sid): [(str(role), str(text)) for role, text in lines]
            for sid, lines in state.get("lines", {}).items()
        }
        self._pending = {}
        for sid, ids in state.get("pending", {}).items():
            keys = store.keys_of(list(ids))
            found = store.get([k for k in keys if k is not None])
            self._pending[str(sid)] = {m.id or "": m for m in found if m is not None}
        self._folded = {str(k): int(v) for k, v in state.get("folded", {}).items()}
        self._folded_tokens = {str(k): int(v) for k, v in state.get("folded_tokens", {}).items()}
        self._rounds = int(state.get("rounds", 0))

    # ----------------------------------------------------------------- store hooks
    def _on_stored(self, messages: Sequence[Message], keys: Sequence[int | None]) -> None:
        for m, key in zip(messages, keys, strict=True):
            if key is not None:
                assert m.id is not None
                self._pending.setdefault(m.session_id, {})[m.id] = m

    def _on_removed(self, messages: Sequence[Message]) -> None:
        cleared = set()
        for m in messages:
            pending = self._pending.get(m.session_id)
            if pending:
                pending.pop(m.id or "", None)
            if not self._memory_store.count(m.session_id):
                cleared.add(m.session_id)
        for sid in cleared:
            for table in (
                self._pending,
                self._summaries,
                self._lines,
                self._folded,
                self._folded_tokens,
            ):
                table.pop(sid, None)

    def _after_store(self, session_id: str) -> None:
        if not self._due(session_id):
            return
        due = getattr(self._deferred, "due", None)
        if due is not None:
            due.append(session_id)
            return
        if inspect.iscoroutinefunction(self.summarizer) and _loop_running():
            # Sync call from inside an event loop: blocking on the coroutine would deadlock, so
            # the summary waits for the next aadd_message (or aget_summary).
            return
        self._summarize_sync(session_id)

    def _due(self, session_id: str) -> bool:
        return (
            len(self._pending.get(session_id, ())) >= self.summarize_after
            and session_id not in self._busy
        )

    # ----------------------------------------------------------------- summarising
    def _claim(self, session_id: str) -> list[Message] | None:
        """The pending messages of a due session, in time order, marking it busy; or None."""
        if not self._due(session_id):
            return None
        self._busy.add(session_id)
        msgs = list(self._pending[session_id].values())
        msgs.sort(key=chrono_key)
        return msgs

    def _inputs(self, session_id: str, msgs: list[Message]) -> list[Message]:
        previous = self._summaries.get(session_id)
        if not previous:
            return list(msgs)
        return [Message(SUMMARY_ROLE, previous, session_id=session_id), *msgs]

    def _builtin(self, session_id: str, msgs: list[Message]) -> list[tuple[str, str]]:
        """The extractive summary of the session: its last :data:`SUMMARY_WINDOW` messages,
        and the previous summary's lines standing in for anything older."""
        count = self._memory_store.count(session_id)
        window = (
            self._memory_store.messages(session_id)[-SUMMARY_WINDOW:] if count > len(msgs) else msgs
        )
        sources = [(m.role, m.content) for m in window]
        if count > SUMMARY_WINDOW:
            sources = [*self._lines.get(session_id, []), *sources]
        seen = self._folded_tokens.get(session_id, 0) + sum(
            self._count_tokens_many([m.content for m in msgs])
        )
        self._folded_tokens[session_id] = seen
        budget = min(self.summary_tokens, max(MIN_SUMMARY_TOKENS, int(seen * SUMMARY_RATIO)))
        picked = _core.summarize([text for _, text in sources], budget)
        lines: list[tuple[str, str]] = []
        last = -1
        for index, sentence in picked:
            if index == last:
                role, text = lines[-1]
                lines[-1] = (role, f"{text} {sentence}")
            else:
                lines.append((sources[index][0], sentence))
            last = index
        return lines

    def _apply(
        self, session_id: str, msgs: list[Message], summary: str, lines: list[tuple[str, str]]
    ) -> None:
        pending = self._pending.get(session_id)
        if pending is None:
            return  # the session was cleared while its summary was being made
        for m in msgs:
            if m.id is not None:
                pending.pop(m.id, None)
        self._summaries[session_id] = summary
        if lines:
            self._lines[session_id] = lines
        self._folded[session_id] = self._folded.get(session_id, 0) + len(msgs)
        self._rounds += 1

    def _summarize_sync(self, session_id: str) -> None:
        msgs = self._claim(session_id)
        if msgs is None:
            return
        try:
            if self.summarizer is None:
                lines = self._builtin(session_id, msgs)
                summary = _render(lines) or self._summaries.get(session_id, "")
                self._apply(session_id, msgs, summary, lines)
                return
            result = _call(self.summarizer, self._inputs(session_id, msgs), len(msgs))
            if inspect.isawaitable(result):
                if _loop_running():
                    if inspect.iscoroutine(result):
                        result.close()
                    raise SummarizerError(
                        "summarizer returned an awaitable inside a running event loop; use "
                        f"aadd_message to await it; {_failure(len(msgs))}"
                    )
                result = _run_awaitable(result, len(msgs))
            self._apply(session_id, msgs, _check_result(result, len(msgs)), [])
        finally:
            self._busy.discard(session_id)

    async def _summarize_async(self, session_ids: Iterable[str]) -> None:
        for sid in dict.fromkeys(session_ids):
            with self._lock:
                msgs = self._claim(sid)
                inputs = self._inputs(sid, msgs) if msgs is not None else []
            if msgs is None:
                continue
            try:
                if self.summarizer is None:
                    lines = await asyncio.to_thread(self._locked, self._builtin, sid, msgs)
                    summary = _render(lines) or self._summaries.get(sid, "")
                    kept = lines
                else:
                    if inspect.iscoroutinefunction(self.summarizer):
                        result = _call(self.summarizer, inputs, len(msgs))
                    else:
                        result = await asyncio.to_thread(_call, self.summarizer, inputs, len(msgs))
                    if inspect.isawaitable(result):
                        result = await _await(result, len(msgs))
                    summary, kept = _check_result(result, len(msgs)), []
                with self._lock:
                    self._apply(sid, msgs, summary, kept)
            finally:
                with self._lock:
                    self._busy.discard(sid)

    def _locked(self, fn: Callable[..., R], *args: Any) -> R:
        with self._lock:
            return fn(*args)

    def _add_deferred(self, add: Callable[[], R]) -> tuple[R, list[str]]:
        """Runs an add in this (worker) thread, collecting the sessions whose summary is due."""
        self._deferred.due = []
        try:
            return add(), self._deferred.due
        finally:
            self._deferred.due = None

    # ----------------------------------------------------------------- public API
    def get_summary(self, session_id: str | None = None) -> str:
        """The running summary of the bound session (or ``session_id``); ``""`` before the
        first ``summarize_after`` messages."""
        sid = self._one_session(session_id)
        with self._lock:
            self._check_open()
            return self._summaries.get(sid, "")

    async def aget_summary(self, session_id: str | None = None) -> str:
        """Async twin of :meth:`get_summary`; first makes any summary that is due (one that a
        sync call inside an event loop could not await)."""
        sid = self._one_session(session_id)
        await self._summarize_async([sid])
        return self.get_summary(sid)

    def _one_session(self, session_id: object) -> str:
        if isinstance(session_id, AllSessions):
            raise InvalidArgumentError("session_id: a summary belongs to one session")
        return self._scope(session_id)[0]  # type: ignore[arg-type]

    async def aadd_message(
        self, message_or_role: Message | str, content: str | None = None, **fields: Any
    ) -> str:
        """Async twin of :meth:`add_message`; a due summary is made without blocking the loop
        (a coroutine-function summarizer is awaited, a plain one runs in a worker thread)."""
        mid, due = await asyncio.to_thread(
            self._add_deferred, lambda: self.add_message(message_or_role, content, **fields)
        )
        await self._summarize_async(due)
        return mid

    async def aadd_messages(
        self,
        messages: Iterable[Message | Mapping[str, Any]],
        *,
        session_id: SessionScope = None,
        on_conflict: Conflict = "error",
        vectors: Any = None,
    ) -> list[str]:
        """Async twin of :meth:`add_messages`, summarising like :meth:`aadd_message`."""
        ids, due = await asyncio.to_thread(
            self._add_deferred,
            lambda: self.add_messages(
                messages, session_id=session_id, on_conflict=on_conflict, vectors=vectors
            ),
        )
        await self._summarize_async(due)
        return ids

    # ----------------------------------------------------------------- context and stats
    def _context_preamble(self, sessions: list[str], query: str | None) -> list[ContextSection]:
        sections: list[ContextSection] = []
        for sid in sessions:
            summary = self._summaries.get(sid)
            if summary:
                title = "Summary of the conversation so far"
                sections.append((title if len(sessions) == 1 else f"{title} ({sid})", summary))
        return sections

    def get_session_stats(self, session_id: SessionScope = None) -> dict[str, Any]:
        """The base figures plus ``summarized_messages``, ``pending_messages`` and
        ``summary_tokens`` (tokens of the running summary)."""
        stats = super().get_session_stats(session_id)
        with self._lock:
            sessions = self._scope(session_id)
            stats["summarized_messages"] = sum(self._folded.get(s, 0) for s in sessions)
            stats["pending_messages"] = sum(len(self._pending.get(s, ())) for s in sessions)
            stats["summary_tokens"] = sum(
                self.count_tokens(self._summaries.get(s, "")) for s in sessions
            )
        return stats

    def _extra_stats(self) -> dict[str, Any]:
        return {
            "summarizer": "builtin" if self.summarizer is None else _name(self.summarizer),
            "summarize_after": self.summarize_after,
            "summaries_made": self._rounds,
        }


def _render(lines: list[tuple[str, str]]) -> str:
    return "\n".join(f"{role}: {text}" for role, text in lines)


def _name(fn: object) -> str:
    return str(getattr(fn, "__qualname__", None) or type(fn).__name__)


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _failure(n: int) -> str:
    return f"the {n} new messages stay stored and are summarised with the next one"


def _call(summarizer: Summarizer, inputs: list[Message], n: int) -> object:
    try:
        return summarizer(inputs)
    except Exception as e:
        raise SummarizerError(f"summarizer raised {type(e).__name__}: {e}; {_failure(n)}") from e


async def _await(result: Awaitable[object], n: int) -> object:
    try:
        return await result
    except Exception as e:
        raise SummarizerError(f"summarizer raised {type(e).__name__}: {e}; {_failure(n)}") from e


def _run_awaitable(result: Awaitable[object], n: int) -> object:
    async def wait() -> object:
        return await _await(result, n)

    return asyncio.run(wait())


def _check_result(result: object, n: int) -> str:
    if not isinstance(result, str):
        raise SummarizerError(
            f"summarizer must return str, returned {type(result).__name__}; {_failure(n)}"
        )
    return result
