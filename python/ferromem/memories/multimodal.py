"""`MultiModalMemory`: messages with attachments (images, files, audio, video) over any store
that keeps attachment bytes: in process, a SQLite file or a JSON file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

from .._atomic import check_path
from ..base import MemoryBackend, SessionScope, TokenCounter
from ..checks import check_positive_int
from ..engines.engine_set import EngineSet
from ..engines.keyword import KeywordEngine
from ..errors import (
    CorruptDataError,
    InvalidArgumentError,
    InvalidTypeError,
    MemoryLimitError,
    UnknownIdError,
)
from ..message import Message
from ..multimodal import ATTACHMENTS_KEY, Attachment
from ..stores.base import Store
from ..stores.jsonfile import JSONFileStore
from ..stores.memory import MemoryStore
from ..stores.sqlite import SQLiteStore

__all__ = ["DEFAULT_MAX_ATTACHMENT_BYTES", "MultiModalMemory"]

#: The size limit of one attachment's bytes unless ``max_attachment_bytes`` says otherwise.
DEFAULT_MAX_ATTACHMENT_BYTES = 32 * 1024 * 1024


def attachments_of(m: Message) -> list[Attachment]:
    """The attachments described in a message's metadata (none for a plain message)."""
    descs = m.metadata.get(ATTACHMENTS_KEY) if m.metadata else None
    if not isinstance(descs, list):
        return []
    return [Attachment.from_description(d) for d in descs if isinstance(d, Mapping)]


class CaptionKeywordEngine(KeywordEngine):
    """The keyword engine, indexing each message's attachments (kind, caption, file name,
    metadata) with its text, so that search finds a message by what it carries."""

    def text(self, m: Message) -> str:
        base = super().text(m)
        extra = " ".join(a.search_text() for a in attachments_of(m))
        return f"{base} {extra}" if extra else base

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "attachments": True}


def _store_of(backend: object, name: str) -> Store:
    if not isinstance(backend, MemoryBackend):
        raise InvalidTypeError(f"{name} must be a ferromem memory, not {type(backend).__name__}")
    return backend.store


class MultiModalMemory(MemoryBackend):
    """Messages with attachments, as the Niflheim-X seed's ``MultiModalMemory``.

    ``add_message(role, content, attachments=[Attachment(...)])`` stores each attachment's bytes
    content-addressed (SHA-256: the same bytes are kept once, whatever message carries them) and
    its description (kind, digest, size, uri, mime, caption, metadata) in the message's metadata
    under ``"attachments"``. Search finds a message by its attachments' captions, file names and
    metadata as well as by its text; :meth:`get_context` lists each turn's attachments by caption
    (``[image: a cat on a sofa]``). An attachment over ``max_attachment_bytes`` raises
    :class:`~ferromem.MemoryLimitError`, an unknown kind :class:`~ferromem.InvalidArgumentError`:
    nothing is stored.

    Where things live (at most one of the first three; by default in process):

    - ``store``: any store that keeps attachment bytes (``MemoryStore``, ``SQLiteStore``,
      ``JSONFileStore``);
    - ``path``: a SQLite database (or, ending in ``.json``, a JSON file; its attachments go to
      ``<file>.blobs/``), durable across restarts;
    - ``text_backend``: the messages go to that memory's store (the seed's form);
      ``file_backend`` and ``image_backend`` (memories too) then keep the bytes of files and of
      images (by default the message store does). Backends passed in stay their owners':
      :meth:`close` leaves them open.

    Bytes are written before the message that refers to them, so a failed write may leave
    unreferenced bytes (deduplicated, harmless), never a message without its bytes. Deleting a
    message keeps its bytes (another message may share them) until :meth:`prune_attachments`.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        text_backend: MemoryBackend | None = None,
        image_backend: MemoryBackend | None = None,
        file_backend: MemoryBackend | None = None,
        max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
        session_id: str | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
        if sum(x is not None for x in (store, path, text_backend)) > 1:
            raise InvalidArgumentError("pass at most one of store, path and text_backend")
        self.max_attachment_bytes = check_positive_int(max_attachment_bytes, "max_attachment_bytes")
        owned = text_backend is None
        if store is not None and not isinstance(store, Store):
            raise InvalidTypeError(f"store must be a ferromem Store, not {type(store).__name__}")
        if text_backend is not None:
            store = _store_of(text_backend, "text_backend")
        elif path is not None:
            p = check_path(path)
            store = JSONFileStore(p) if p.suffix == ".json" else SQLiteStore(os.fspath(p))
        elif store is None:
            store = MemoryStore()
        files = store if file_backend is None else _store_of(file_backend, "file_backend")
        images = files if image_backend is None else _store_of(image_backend, "image_backend")
        for name, s in (("store", store), ("file_backend", files), ("image_backend", images)):
            if not s.keeps_blobs:
                raise InvalidArgumentError(
                    f"{name}: {type(s).__name__} keeps no attachment bytes; use an in-process, "
                    "SQLite or JSON file store"
                )
        self._owns_store = owned
        self._blob_stores = {"image": images}
        self._file_blobs = files
        engines = EngineSet(store, keyword=CaptionKeywordEngine())
        if not store.remote and store.count() == 0:
            engines.start_empty()
        super().__init__(
            session_id=session_id, token_counter=token_counter, store=store, engines=engines
        )

    # ----------------------------------------------------------------- writing
    def add_message(
        self,
        message_or_role: Message | str,
        content: str | None = None,
        *,
        attachments: Iterable[Attachment] | None = None,
        **fields: Any,
    ) -> str:
        """Stores one message with its attachments and returns its id (see the class docs).

        Everything is checked (kinds, sizes, the session) before anything is written."""
        items = self._check_attachments(attachments)
        if not items:
            return super().add_message(message_or_role, content, **fields)
        if isinstance(message_or_role, Message):
            if content is not None or fields:
                raise InvalidArgumentError(
                    "pass either a Message, or role and content with fields, not both"
                )
            msg, session_id = message_or_role, None
        else:
            if content is None:
                raise InvalidTypeError("content must be str, not None")
            session_id = fields.pop("session_id", None)
            msg = Message(message_or_role, content, **fields)
        if ATTACHMENTS_KEY in msg.metadata:
            raise InvalidArgumentError(
                f"metadata key {ATTACHMENTS_KEY!r} is kept for attachments; pass attachments="
            )
        meta = {**msg.metadata, ATTACHMENTS_KEY: [a.describe() for a in items]}
        msg = msg.replace(metadata=meta)
        with self._lock:
            self._check_open()
            prepared = self._prepare([msg], session_id)  # checks the session; writes nothing
            for a in items:
                if a.data is not None and a.sha256 is not None:
                    self._blobs_for(a.kind).put_blob(a.sha256, a.data)
            return self.add_messages(prepared, session_id=session_id)[0]

    def _check_attachments(self, attachments: Iterable[Attachment] | None) -> list[Attachment]:
        if attachments is None:
            return []
        if isinstance(attachments, (Attachment, str, bytes)):
            raise InvalidTypeError("attachments must be a list of Attachment")
        items = list(attachments)
        for i, a in enumerate(items):
            if not isinstance(a, Attachment):
                raise InvalidTypeError(
                    f"attachments[{i}] must be an Attachment, not {type(a).__name__}"
                )
            if a.size is not None and a.size > self.max_attachment_bytes:
                raise MemoryLimitError(
                    f"attachments[{i}] ({a.label}) is {a.size} bytes, over the limit of "
                    f"{self.max_attachment_bytes} (max_attachment_bytes)"
                )
        return items

    def _blobs_for(self, kind: str) -> Store:
        return self._blob_stores.get(kind, self._file_blobs)

    # ----------------------------------------------------------------- reading attachments
    def get_attachments(
        self, message: Message | str, *, session_id: SessionScope = None, load: bool = False
    ) -> list[Attachment]:
        """The attachments of a message (or of the message with this id in scope; an
        :class:`~ferromem.UnknownIdError` when there is none), with their bytes when ``load``."""
        if isinstance(message, str):
            found = self.get_message(message, session_id=session_id)
            if found is None:
                raise UnknownIdError(f"no message {message!r} in scope")
            message = found
        if not isinstance(message, Message):
            raise InvalidTypeError(f"message must be a Message or an id, not {type(message)}")
        out = attachments_of(message)
        if load:
            for a in out:
                if a.sha256 is not None:
                    a.data = self.attachment_bytes(a)
        return out

    def attachment_bytes(self, attachment: Attachment) -> bytes:
        """The stored bytes of an attachment, checked against its digest."""
        if not isinstance(attachment, Attachment):
            raise InvalidTypeError(f"attachment must be an Attachment, not {type(attachment)}")
        digest = attachment.sha256
        if digest is None:
            raise InvalidArgumentError(f"{attachment!r} has no stored bytes (a uri only)")
        with self._lock:
            self._check_open()
            data = self._blobs_for(attachment.kind).get_blob(digest)
        if data is None:
            raise UnknownIdError(f"no attachment bytes stored under sha256 {digest}")
        if hashlib.sha256(data).hexdigest() != digest:
            raise CorruptDataError(f"attachment {digest}: its bytes do not match their digest")
        return data

    def prune_attachments(self) -> int:
        """Removes the stored bytes that no message of this memory refers to any more (left by
        deleted or expired messages, or by a failed write); returns how many were removed.
        A blob store shared with another memory loses what only that memory refers to: prune
        from the memory that owns the messages."""
        with self._lock:
            self._check_open()
            store = self._store_impl
            referenced = {
                a.sha256
                for sid in store.sessions()
                for m in store.messages(sid)
                for a in attachments_of(m)
                if a.sha256 is not None
            }
            removed = 0
            stores = {id(s): s for s in (self._file_blobs, *self._blob_stores.values())}
            for blobs in stores.values():
                unused = [d for d in blobs.blob_digests() if d not in referenced]
                removed += blobs.remove_blobs(unused) if unused else 0
            return removed

    # ----------------------------------------------------------------- context
    def _recent_iter(self, sessions: list[str]) -> Iterable[Message]:
        return (_shown(m) for m in super()._recent_iter(sessions))

    def _context_relevant(self, query: str, sessions: list[str]) -> list[Message]:
        return [_shown(m) for m in super()._context_relevant(query, sessions)]

    def _extra_stats(self) -> dict[str, Any]:
        return {"max_attachment_bytes": self.max_attachment_bytes}

    def close(self) -> None:
        """Closes the store this memory opened (backends passed in stay open)."""
        with self._lock:
            if self._closed:
                return
            if self._owns_store:
                super().close()
            else:
                self._closed = True


def _shown(m: Message) -> Message:
    """The message as a context shows it: its text, then its attachments by caption."""
    items = attachments_of(m)
    if not items:
        return m
    lines = "\n".join(f"[{a.kind}: {a.label}]" for a in items)
    return m.replace(content=f"{m.content}\n{lines}" if m.content else lines)
