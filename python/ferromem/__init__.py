"""ferromem: fast, embeddable memory for AI agents, with a Rust core.

Every memory class shares one interface (:class:`MemoryBackend`, see API.md); the Rust engines
are in :mod:`ferromem.core`.
"""

from __future__ import annotations

from . import (
    aio,
    core,
    embedders,
)
from ._core import __version__
from .base import MemoryBackend
from .errors import (
    BackendAuthError,
    BackendUnavailableError,
    CorruptDataError,
    CorruptFileError,
    EmbedderError,
    FerromemError,
    InvalidArgumentError,
    InvalidTypeError,
    MemoryLimitError,
    ModelNotFoundError,
    StorageError,
    SummarizerError,
    UnknownIdError,
)
from .local_embedders import LocalEmbedder, StaticEmbedder
from .memories.buffer import BufferMemory
from .memories.compressed import CompressedMemory
from .memories.dict_memory import DictMemory
from .memories.hierarchical import HierarchicalMemory
from .memories.indexed import IndexedMemory
from .memories.json_file import JSONFileMemory, PersistentMemory
from .memories.multimodal import MultiModalMemory
from .memories.redis import RedisMemory
from .memories.sqlite import SQLiteMemory
from .memories.summary import SummaryMemory
from .memories.vector import VectorMemory
from .message import ALL_SESSIONS, Hit, Message
from .multimodal import Attachment

__all__ = [
    "ALL_SESSIONS",
    "Attachment",
    "BackendAuthError",
    "BackendUnavailableError",
    "BufferMemory",
    "CompressedMemory",
    "CorruptDataError",
    "CorruptFileError",
    "DictMemory",
    "EmbedderError",
    "FerromemError",
    "HierarchicalMemory",
    "Hit",
    "IndexedMemory",
    "InvalidArgumentError",
    "InvalidTypeError",
    "JSONFileMemory",
    "LocalEmbedder",
    "MemoryBackend",
    "MemoryLimitError",
    "Message",
    "ModelNotFoundError",
    "MultiModalMemory",
    "PersistentMemory",
    "RedisMemory",
    "SQLiteMemory",
    "StaticEmbedder",
    "StorageError",
    "SummarizerError",
    "SummaryMemory",
    "UnknownIdError",
    "VectorMemory",
    "__version__",
    "aio",
    "core",
    "embedders",
]
