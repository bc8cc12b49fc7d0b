"""Isolation: a hypothesis state machine drives every backend through adds, updates, deletes,
clears and searches over several sessions, bound and shared, against a plain dict model. A
memory must never show, find, change or delete another session's message unless told to."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from ferromem import ALL_SESSIONS, InvalidArgumentError

from ..contract.backends import BACKENDS
from .harness import row, scale

SESSIONS = ["a", "b", "c"]
WORDS = ["apple", "river", "cloud", "stone", "tiger"]


def machine_for(name: str) -> type[RuleBasedStateMachine]:
    class Isolation(RuleBasedStateMachine):
        messages = Bundle("messages")

        def __init__(self) -> None:
            super().__init__()
            self.dir = Path(tempfile.mkdtemp(prefix="ferromem-iso-"))
            self.mem = BACKENDS[name](self.dir)(session_id="a")
            self.model: dict[str, dict[str, str]] = {s: {} for s in SESSIONS}

        def teardown(self) -> None:
            self.mem.close()
            shutil.rmtree(self.dir, ignore_errors=True)

        @rule(target=messages, session=st.sampled_from(SESSIONS), word=st.sampled_from(WORDS))
        def add(self, session: str, word: str) -> tuple[str, str]:
            mid = self.mem.add_message("user", f"{word} note", session_id=session)
            self.model[session][mid] = f"{word} note"
            return (session, mid)

        @rule(ref=messages, scope=st.sampled_from([None, "b", ALL_SESSIONS]))
        def delete(self, ref: tuple[str, str], scope: object) -> None:
            session, mid = ref
            reach = {"a"} if scope is None else set(SESSIONS) if scope is ALL_SESSIONS else {scope}
            there = mid in self.model[session]
            done = self.mem.delete_message(mid, session_id=scope)
            assert done == (there and session in reach)
            if done:
                del self.model[session][mid]

        @rule(ref=messages, word=st.sampled_from(WORDS))
        def update(self, ref: tuple[str, str], word: str) -> None:
            session, mid = ref
            done = self.mem.update_message(mid, content=f"{word} changed")
            assert done == (session == "a" and mid in self.model["a"])
            if done:
                self.model["a"][mid] = f"{word} changed"

        @rule(session=st.sampled_from(SESSIONS))
        def clear(self, session: str) -> None:
            self.mem.clear_session(session)
            self.model[session] = {}

        @rule(word=st.sampled_from(WORDS), session=st.sampled_from([None, "b", "c"]))
        def search(self, word: str, session: str | None) -> None:
            hits = self.mem.search(word, session_id=session, limit=50)
            target = session or "a"
            for h in hits:
                assert h.message.session_id == target
                assert self.model[target].get(h.message.id) == h.message.content
            holding = {i for i, c in self.model[target].items() if c.startswith(word + " ")}
            assert holding <= {h.message.id for h in hits}

        @rule(session=st.sampled_from(SESSIONS))
        def foreign_message_is_refused(self, session: str) -> None:
            if session == "a":
                return
            from ferromem import Message

            try:
                self.mem.add_messages([Message("user", "sneaky", session_id=session)])
            except InvalidArgumentError:
                return
            raise AssertionError("a bound memory stored a message of another session")

        @invariant()
        def listings_match_the_model(self) -> None:
            for s in SESSIONS:
                got = {m.id: m.content for m in self.mem.get_messages(s)}
                assert got == self.model[s]
            every = {m.id for m in self.mem.get_messages(ALL_SESSIONS)}
            assert every == {i for s in SESSIONS for i in self.model[s]}
            assert {m.id: m.content for m in self.mem.get_messages()} == self.model["a"]

    Isolation.__name__ = f"Isolation_{name.replace('-', '_')}"
    return Isolation


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_sessions_stay_isolated(name: str) -> None:
    machine = machine_for(name)
    machine.TestCase.settings = settings(
        max_examples=scale(8, 60),
        stateful_step_count=scale(15, 40),
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    tally = row(f"isolation state machine: {name}")
    try:
        machine.TestCase().runTest()
    except BaseException:
        tally.tried += 1
        tally.crashed += 1
        raise
    tally.tried += 1
    tally.passed += 1
