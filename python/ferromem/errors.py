"""The exceptions ferromem raises. Every one derives from :class:`FerromemError`."""

from __future__ import annotations

__all__ = [
    "BackendAuthError",
    "BackendUnavailableError",
    "CorruptDataError",
    "CorruptFileError",
    "EmbedderError",
    "FerromemError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "MemoryLimitError",
    "ModelNotFoundError",
    "StorageError",
    "SummarizerError",
    "UnknownIdError",
]


class FerromemError(Exception):
    """Base class of every error ferromem raises on purpose."""


class InvalidArgumentError(FerromemError, ValueError):
    """An argument has the right type but a wrong value; the message names the argument."""


class InvalidTypeError(FerromemError, TypeError):
    """An argument has the wrong type; the message names the argument."""


class CorruptFileError(FerromemError):
    """A file on disk is damaged or is not a ferromem file; the message names the file."""


class CorruptDataError(FerromemError, ValueError):
    """Bytes (a compressed frame, a block) that do not decode."""


class UnknownIdError(FerromemError, KeyError):
    """Ids were named that the memory or index does not hold."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StorageError(FerromemError, OSError):
    """Reading or writing the underlying storage failed."""


class BackendUnavailableError(FerromemError, ConnectionError):
    """A server backend (Redis) cannot be reached."""


class BackendAuthError(FerromemError, PermissionError):
    """A server backend (Redis) refused the credentials (a wrong password or user), or the user
    may not run the commands ferromem needs: the server is reachable, retrying will not help."""


class EmbedderError(FerromemError):
    """A user-supplied embedder raised; the original exception is the ``__cause__``."""


class SummarizerError(FerromemError):
    """A user-supplied summarizer raised or returned something other than a string."""


class MemoryLimitError(FerromemError):
    """A memory cannot stay within its configured size limit."""


class ModelNotFoundError(FerromemError, LookupError):
    """No copy of a local model was found; the message lists every place looked at."""
