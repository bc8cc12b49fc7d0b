"""`Attachment`: an image, a file, a sound or a video that goes with a message.

An attachment is described by its ``kind``, its bytes (``data``) and/or where it lives
(``uri``), a ``mime`` type, a ``caption`` and ``metadata``. :class:`~ferromem.MultiModalMemory`
stores the bytes content-addressed (by SHA-256, so the same bytes are kept once) and the
description in the message's metadata under :data:`ATTACHMENTS_KEY`, where search finds the
caption and metadata with the text.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
from collections.abc import Mapping
from typing import Any

from .errors import CorruptDataError, InvalidArgumentError, InvalidTypeError
from .message import check_text

__all__ = ["ATTACHMENTS_KEY", "ATTACHMENT_KINDS", "Attachment"]

#: The kinds an attachment may have.
ATTACHMENT_KINDS = ("image", "audio", "video", "file", "document", "text")
#: The message metadata key that holds the descriptions of a message's attachments.
ATTACHMENTS_KEY = "attachments"


class Attachment:
    """An attachment: ``Attachment(kind, data_or_uri, mime=None, caption=None, metadata=None)``.

    ``kind`` is one of :data:`ATTACHMENT_KINDS` (anything else is an
    :class:`~ferromem.InvalidArgumentError`). The second argument is the bytes (``bytes``,
    ``bytearray`` or ``memoryview``) or a URI or path (``str`` or path-like); both can also be
    given by keyword (``data=``, ``uri=``). ``mime`` is guessed from the URI when not given.
    ``sha256`` and ``size`` are set from the bytes (and kept when read back from a memory,
    where ``data`` is None until loaded with :meth:`MultiModalMemory.attachment_bytes`).
    """

    __slots__ = ("caption", "data", "kind", "metadata", "mime", "sha256", "size", "uri")

    def __init__(
        self,
        kind: str,
        source: bytes | bytearray | memoryview | str | os.PathLike[str] | None = None,
        mime: str | None = None,
        caption: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        data: bytes | bytearray | memoryview | None = None,
        uri: str | os.PathLike[str] | None = None,
    ) -> None:
        if not isinstance(kind, str):
            raise InvalidTypeError(f"attachment kind must be a str, not {type(kind).__name__}")
        if kind not in ATTACHMENT_KINDS:
            raise InvalidArgumentError(
                f"unknown attachment kind {kind!r}; use one of {', '.join(ATTACHMENT_KINDS)}"
            )
        if isinstance(source, (bytes, bytearray, memoryview)):
            if data is not None:
                raise InvalidArgumentError("attachment bytes given twice (source and data=)")
            data = source
        elif isinstance(source, (str, os.PathLike)):
            if uri is not None:
                raise InvalidArgumentError("attachment uri given twice (source and uri=)")
            uri = source
        elif source is not None:
            raise InvalidTypeError(
                f"attachment source must be bytes or a uri str, not {type(source).__name__}"
            )
        if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidTypeError(f"attachment data must be bytes, not {type(data).__name__}")
        if uri is not None:
            uri = os.fspath(uri)
            if not isinstance(uri, str) or not uri:
                raise InvalidArgumentError(f"attachment uri must be a non-empty str, got {uri!r}")
            check_text(uri, "attachment uri")
        if data is None and uri is None:
            raise InvalidArgumentError("an attachment needs its bytes or a uri")
        for name, value in (("mime", mime), ("caption", caption)):
            if value is not None:
                if not isinstance(value, str):
                    raise InvalidTypeError(
                        f"attachment {name} must be a str, not {type(value).__name__}"
                    )
                check_text(value, f"attachment {name}")
        if mime is None and uri is not None:
            mime = mimetypes.guess_type(uri)[0]
        self.kind = kind
        self.data = None if data is None else bytes(data)
        self.uri = uri
        self.mime = mime
        self.caption = caption
        self.metadata = _json_mapping(metadata)
        self.sha256 = None if self.data is None else hashlib.sha256(self.data).hexdigest()
        self.size = None if self.data is None else len(self.data)

    @property
    def label(self) -> str:
        """How the attachment is named in a context: its caption, else its file name."""
        if self.caption:
            return self.caption
        if self.uri:
            return self.uri.rstrip("/").rsplit("/", 1)[-1] or self.uri
        return f"{self.kind} {self.sha256[:12] if self.sha256 else ''}".strip()

    def describe(self) -> dict[str, Any]:
        """The description kept in the message's metadata (everything but the bytes)."""
        out: dict[str, Any] = {"kind": self.kind}
        for name in ("sha256", "size", "uri", "mime", "caption"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out

    @classmethod
    def from_description(cls, desc: Mapping[str, Any]) -> Attachment:
        """An attachment (without its bytes) from :meth:`describe`'s dict."""
        if not isinstance(desc, Mapping) or not isinstance(desc.get("kind"), str):
            raise CorruptDataError(f"not an attachment description: {desc!r}")
        self = cls.__new__(cls)
        self.kind = desc["kind"]
        self.data = None
        self.uri = desc.get("uri")
        self.mime = desc.get("mime")
        self.caption = desc.get("caption")
        self.metadata = dict(desc.get("metadata") or {})
        self.sha256 = desc.get("sha256")
        self.size = desc.get("size")
        return self

    def search_text(self) -> str:
        """The words search finds the attachment by: kind, caption, file name, metadata."""
        words = [self.kind, self.caption or "", self.label if self.uri else ""]
        words += [str(v) for v in self.metadata.values() if isinstance(v, (str, int, float))]
        return " ".join(w for w in words if w)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Attachment):
            return NotImplemented
        return self.describe() == other.describe()

    def __hash__(self) -> int:
        return hash(json.dumps(self.describe(), sort_keys=True))

    def __repr__(self) -> str:
        where = f"sha256={self.sha256[:12]}..." if self.sha256 else f"uri={self.uri!r}"
        return f"Attachment({self.kind!r}, {where}, caption={self.caption!r})"


def _json_mapping(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidTypeError(f"attachment metadata must be a dict, not {type(metadata).__name__}")
    out = dict(metadata)
    for key in out:
        if not isinstance(key, str):
            raise InvalidTypeError(f"attachment metadata keys must be str, got {key!r}")
    try:
        json.dumps(out)
    except (TypeError, ValueError) as e:
        raise InvalidArgumentError(f"attachment metadata must be JSON-serialisable: {e}") from e
    return out
