"""How a memory counts tokens: the ``token_counter=`` option every memory takes.

``token_counter`` may be

- ``None`` (the default): :data:`DEFAULT_ENCODING`, OpenAI's ``o200k_base``, counted exactly;
- a name: ``"o200k_base"`` (GPT-4o, GPT-4.1, o-series), ``"cl100k_base"`` (GPT-4, GPT-3.5) or
  ``"approx"`` (a fast estimate of cl100k_base, see ``docs/results/tokens.md`` for its error);
- any callable ``str -> int``, such as a Hugging Face tokenizer's
  ``lambda s: len(tok.encode(s))``.

The names count in Rust (:func:`ferromem.core.count_tokens`), exactly as tiktoken does, with
vocabularies that ship inside the package: no network, no download at first use.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

from . import _core
from .errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "DEFAULT_ENCODING",
    "ENCODINGS",
    "CallableTokenCounter",
    "EncodingTokenCounter",
    "TokenCounterSpec",
    "resolve_token_counter",
]

#: The encodings ferromem counts in Rust.
ENCODINGS: tuple[str, ...] = ("o200k_base", "cl100k_base", "approx")
#: What ``token_counter=None`` means: the tokenizer of OpenAI's current models, exactly.
DEFAULT_ENCODING = "o200k_base"

#: What ``token_counter=`` accepts besides None: an encoding name or a ``str -> int`` callable.
TokenCounterSpec = str | Callable[[str], int]


class EncodingTokenCounter:
    """Counts tokens with one of ferromem's Rust encodings (see :data:`ENCODINGS`)."""

    __slots__ = ("encoding",)

    def __init__(self, encoding: str) -> None:
        if encoding not in ENCODINGS:
            names = ", ".join(repr(e) for e in ENCODINGS)
            raise InvalidArgumentError(
                f"token_counter must be one of {names}, a callable or None, not {encoding!r}"
            )
        self.encoding = encoding

    def __call__(self, text: str) -> int:
        """Tokens in ``text``."""
        return _core.count_tokens(text, encoding=self.encoding)

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Tokens in each text, counted in one call into Rust."""
        counts: list[int] = _core.count_tokens_many(texts, encoding=self.encoding).tolist()
        return counts

    def __repr__(self) -> str:
        return f"EncodingTokenCounter({self.encoding!r})"


class CallableTokenCounter:
    """A user's ``str -> int`` counter, with its results checked."""

    __slots__ = ("func",)

    def __init__(self, func: Callable[[str], int]) -> None:
        self.func = func

    def __call__(self, text: str) -> int:
        """Tokens in ``text`` as the user's counter says; a result that is not a non-negative
        int is an :class:`~ferromem.InvalidTypeError`."""
        n = self.func(text)
        try:
            if isinstance(n, bool):
                raise TypeError
            value = operator.index(n)
        except TypeError:
            value = -1
        if value < 0:
            raise InvalidTypeError(f"token_counter must return a non-negative int, returned {n!r}")
        return value

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Tokens in each text, one call of the user's counter per text."""
        return [self(t) for t in texts]

    def __repr__(self) -> str:
        return f"CallableTokenCounter({self.func!r})"


def resolve_token_counter(
    spec: TokenCounterSpec | None,
) -> EncodingTokenCounter | CallableTokenCounter:
    """The counter that ``token_counter=spec`` means (see the module doc).

    An unknown name is an :class:`~ferromem.InvalidArgumentError`; anything that is neither a
    name, a callable nor None is an :class:`~ferromem.InvalidTypeError`.
    """
    if spec is None:
        return EncodingTokenCounter(DEFAULT_ENCODING)
    if isinstance(spec, str):
        return EncodingTokenCounter(spec)
    if isinstance(spec, (EncodingTokenCounter, CallableTokenCounter)):
        return spec
    if not callable(spec):
        raise InvalidTypeError(
            "token_counter must be an encoding name, a callable str -> int or None, not "
            f"{type(spec).__name__}"
        )
    return CallableTokenCounter(spec)
