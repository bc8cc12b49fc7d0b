"""The columnar in-process store (`MemoryStore` over the core's `MessageColumns`) and the batched
write path: every field round-trips exactly, removal and replacement keep the Store contract,
hostile input raises typed errors and writes nothing, and random operations leave it equal to
the dict store it replaced."""

from __future__ import annotations

import contextlib
import enum
import math
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ferromem import ALL_SESSIONS, IndexedMemory, InvalidArgumentError, InvalidTypeError, Message
from ferromem.stores.memory import MemoryStore
from ferromem.stores.objects import ObjectStore


class Colour(enum.IntEnum):
    RED = 1


METADATA = {
    "none": None,
    "flags": [True, False],
    "ints": [0, -1, 2**63 - 1, -(2**63), 2**80],
    "floats": [0.1, -0.0, 1e308, math.inf, -math.inf],
    "text": "h\u00e9llo \u4e16\u754c \U0001f916 \x00",
    "tuple": (1, ("a", None)),
    "nested": {"k": {"deep": [{"x": 1}]}, 3: "int key", None: "none key", (1, 2): "tuple key"},
    "empty": [[], {}, (), ""],
}


def test_every_field_round_trips_exactly():
    store = MemoryStore()
    msgs = [
        Message(
            "\U0001f916 bot",
            "h\u00e9llo \u4e16\u754c\n\t\x00",
            session_id="s\u00e9",
            metadata=METADATA,
            timestamp=-12345.678901234,
            importance=0.123456789,
            id="any id \u00e9",
        ),
        Message("user", "", id="0123456789abcdef0123456789", importance=None, timestamp=0),
        Message("user", "x" * 100_000, id="ABCDEF", timestamp=1e12, importance=1.0),
    ]
    result = store.put(msgs)
    assert result.keys == [0, 1, 2]
    got = store.get([0, 1, 2, 99])
    assert got[:3] == msgs and got[3] is None
    for m, g in zip(msgs, got, strict=False):
        assert g is not None
        assert repr(g.metadata) == repr(m.metadata)  # types too: tuple stays tuple, -0.0 stays
        assert type(g.timestamp) is float and g.id == m.id
    assert math.copysign(1, got[0].metadata["floats"][1]) == -1
    assert store.items() == list(zip([0, 1, 2], msgs, strict=True))


def test_metadata_the_codec_cannot_hold_is_kept_as_given():
    when = datetime(2024, 1, 2, tzinfo=timezone.utc)
    odd = {"when": when, "colour": Colour.RED, "set": {1, 2}, "bytes": b"\x00\xff"}
    store = MemoryStore()
    store.put([Message("user", "a", id="a", metadata=odd)])
    [m] = store.get([0])
    assert m is not None and m.metadata == odd
    assert type(m.metadata["colour"]) is Colour
    store.remove([0])
    assert store.get([0]) == [None]


def test_a_read_message_is_a_copy_history_does_not_change():
    store = MemoryStore()
    store.put([Message("user", "a", id="a", metadata={"tags": ["x"]})])
    [m] = store.get([0])
    assert m is not None
    m.metadata["tags"].append("changed")
    assert store.get([0])[0].metadata == {"tags": ["x"]}  # type: ignore[union-attr]


def test_removal_replacement_and_keys_never_reused():
    store = MemoryStore()
    store.put([Message("user", f"m{i}", id=f"i{i}", session_id="s", timestamp=i) for i in range(4)])
    assert store.remove([1, 1, 99]).removed == [1]
    assert store.session_keys("s") == [0, 2, 3]
    assert store.keys_of(["i1", "i2"]) == [None, 2]
    result = store.put(
        [Message("user", "new", id="i2", session_id="s", timestamp=9)], on_conflict="replace"
    )
    assert result.keys == [4] and result.removed == [2]
    assert store.put([Message("user", "x", id="i0")], on_conflict="skip").keys == [None]
    with pytest.raises(InvalidArgumentError, match="already stored"):
        store.put([Message("user", "x", id="i0")])
    assert [m.content for m in store.messages("s")] == ["m0", "m3", "new"]
    store.remove(store.session_keys("s"))
    assert store.sessions() == [] and store.count() == 0
    assert store.put([Message("user", "again", id="i0")]).keys == [5]


def test_sessions_keep_their_order_and_an_older_arrival_is_sorted_in():
    store = MemoryStore()
    store.put([Message("user", "late", id="b", session_id="x", timestamp=10)])
    store.put([Message("user", "y", id="c", session_id="y", timestamp=1)])
    store.put([Message("user", "early", id="a", session_id="x", timestamp=5)])
    assert store.sessions() == ["x", "y"]
    assert [m.content for m in store.messages("x")] == ["early", "late"]
    assert [m.content for m in store.newest("x", 1)] == ["late"]
    assert store.oldest_keys("x", 1) == [2]


def test_restore_puts_messages_back_under_their_keys():
    saved = [(7, Message("user", "b", id="b")), (3, Message("user", "a", id="a"))]
    store = MemoryStore()
    assert store.restore(saved) == [3, 7]
    assert store.get([3, 7, 0]) == [saved[1][1], saved[0][1], None]
    assert store.put([Message("user", "c", id="c")]).keys == [8]
    with pytest.raises(InvalidArgumentError):
        store.restore([(2, Message("user", "z", id="z"))])


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ("just text", InvalidTypeError),
        (42, InvalidTypeError),
        ({"content": "no role"}, InvalidArgumentError),
        ({"role": "", "content": "x"}, InvalidArgumentError),
        ({"role": "user", "content": 3}, InvalidTypeError),
        ({"role": "user", "content": "\ud800"}, InvalidArgumentError),
        ({"role": "user", "content": "x", "timestamp": math.nan}, InvalidArgumentError),
        ({"role": "user", "content": "x", "timestamp": True}, InvalidTypeError),
        ({"role": "user", "content": "x", "importance": 2.0}, InvalidArgumentError),
        ({"role": "user", "content": "x", "importance": True}, InvalidTypeError),
        ({"role": "user", "content": "x", "id": ""}, InvalidArgumentError),
        ({"role": "user", "content": "x", "colour": "red"}, InvalidArgumentError),
        ({"role": "user", "content": "x", "metadata": {1: "int key"}}, InvalidTypeError),
        ({"role": "user", "content": "x", "metadata": {"k": "\udc00"}}, InvalidArgumentError),
    ],
)
def test_hostile_items_raise_typed_errors_and_write_nothing(item, error):
    mem = IndexedMemory()
    mem.add_message("user", "kept cat")
    with pytest.raises(error):
        mem.add_messages([{"role": "user", "content": "a fine cat"}, item])
    assert mem.store.count() == 1
    assert [h.message.content for h in mem.search("cat")] == ["kept cat"]


def test_a_batch_with_a_repeated_or_stored_id_writes_nothing():
    mem = IndexedMemory()
    mem.add_message("user", "one", id="x")
    with pytest.raises(InvalidArgumentError, match="twice"):
        mem.add_messages(
            [{"role": "u", "content": "a", "id": "y"}, {"role": "u", "content": "b", "id": "y"}]
        )
    with pytest.raises(InvalidArgumentError, match="already stored"):
        mem.add_messages([{"role": "u", "content": "a"}, {"role": "u", "content": "b", "id": "x"}])
    assert mem.store.count() == 1


def test_batched_path_matches_the_message_path():
    """Dicts, Message objects and single calls store the same fields, importance included."""
    texts = ["I love my dog Rex!", "Remember: the meeting is on Friday.", "ok"]
    a, b, c = IndexedMemory(), IndexedMemory(), IndexedMemory()
    a.add_messages([{"role": "user", "content": t, "timestamp": 5.0} for t in texts])
    b.add_messages([Message("user", t, timestamp=5.0) for t in texts])
    for t in texts:
        c.add_message("user", t, timestamp=5.0)
    fields = [
        [(m.role, m.content, m.session_id, m.timestamp, m.importance) for m in mem.get_messages()]
        for mem in (a, b, c)
    ]
    assert fields[0] == fields[1] == fields[2]
    assert all(f[4] is not None for f in fields[0])


class _Turn(Message):
    """A subclass: its fields are read through attribute look-ups, not the slots directly."""

    __slots__ = ()


def test_messages_subclasses_and_hollow_messages_on_the_batched_path():
    """Exact Messages are read from their slots, subclasses through getattr, both the same; a
    Message made without its constructor (unset slots) is a typed error that writes nothing."""
    kw = {"session_id": "s", "metadata": {"k": [1]}, "timestamp": 7.5, "importance": 0.25}
    mem = IndexedMemory()
    ids = mem.add_messages(
        [Message("user", "exact cat", id="a", **kw), _Turn("bot", "sub cat", id="b", **kw)],
        session_id=ALL_SESSIONS,
    )
    assert ids == ["a", "b"]
    got = mem.get_messages(session_id="s")
    assert [(m.role, m.content, m.id, m.metadata, m.timestamp, m.importance) for m in got] == [
        ("user", "exact cat", "a", {"k": [1]}, 7.5, 0.25),
        ("bot", "sub cat", "b", {"k": [1]}, 7.5, 0.25),
    ]
    for hollow in (Message.__new__(Message), _Turn.__new__(_Turn)):
        with pytest.raises(InvalidTypeError, match="constructor"):
            mem.add_messages([Message("user", "lost cat", session_id="s"), hollow], session_id="s")
        assert mem.store.count() == 2
        assert len(mem.search("cat", session_id="s")) == 2


def test_the_target_session_rule_holds_on_the_batched_path():
    mem = IndexedMemory(session_id="bound")
    mem.add_messages([{"role": "user", "content": "x"}])
    assert mem.get_messages()[0].session_id == "bound"
    with pytest.raises(InvalidArgumentError, match="differs from the target session"):
        mem.add_messages([{"role": "user", "content": "x", "session_id": "other"}])
    mem.add_messages(
        [{"role": "user", "content": "y", "session_id": "other"}], session_id=ALL_SESSIONS
    )
    assert [m.content for m in mem.get_messages(session_id="other")] == ["y"]


_ops = st.lists(
    st.tuples(
        st.sampled_from(["put", "replace", "skip", "remove"]),
        st.integers(0, 7),
        st.sampled_from(["a", "b", "c"]),
        st.floats(0, 5).map(lambda x: round(x, 1)),
        st.text(max_size=8),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(_ops)
def test_columns_behave_as_the_dict_store(ops):
    """Any sequence of writes leaves the columnar store equal to the dict store, read by
    every Store method."""
    cols, dicts = MemoryStore(), ObjectStore()
    for op, n, sid, ts, text in ops:
        for store in (cols, dicts):
            if op == "remove":
                store.remove([n, n + 1])
                continue
            m = Message("user", text, id=f"id{n}", session_id=sid, timestamp=ts, importance=0.5)
            conflict = "error" if op == "put" else op
            with contextlib.suppress(InvalidArgumentError):
                store.put([m], on_conflict=conflict)  # type: ignore[arg-type]
    assert cols.items() == dicts.items()
    assert cols.sessions() == dicts.sessions()
    assert cols.count() == dicts.count()
    for sid in "abc":
        assert cols.session_keys(sid) == dicts.session_keys(sid)
        assert cols.messages(sid) == dicts.messages(sid)
        assert cols.newest(sid, 2) == dicts.newest(sid, 2)
        assert cols.oldest_keys(sid, 2) == dicts.oldest_keys(sid, 2)
        assert cols.count(sid) == dicts.count(sid)
    ids = [f"id{n}" for n in range(9)]
    assert cols.keys_of(ids) == dicts.keys_of(ids)


@pytest.mark.parametrize("key", [-1, 2**64, 2**70])
def test_restore_refuses_keys_out_of_range_with_a_typed_error(key):
    store = MemoryStore()
    with pytest.raises(InvalidArgumentError, match="key"):
        store.restore([(key, Message("user", "a", id="a"))])
    assert store.count() == 0


def test_restore_far_apart_keys_allocates_nothing_in_between():
    store = MemoryStore()
    m = Message("user", "a", id="a")
    store.restore([(2**62, m)])
    assert store.get([2**62, 0]) == [m, None]
    assert store.put([Message("user", "b", id="b")]).keys == [2**62 + 1]


def test_ids_that_cannot_be_stored_are_simply_not_found():
    mem = IndexedMemory()
    mem.add_message("user", "x")
    assert mem.get_message("\ud800") is None
    assert mem.delete_message("\ud800") is False
    assert mem.get_messages_by_ids(["\ud800"]) == []
    assert mem.store.keys_of(["\ud800"]) == [None]
    assert mem.store.session_keys("\ud800") == []
    assert mem.store.count("\ud800") == 0
