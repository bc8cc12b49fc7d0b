"""Type stubs for the Rust extension module ``ferromem._core`` (checked by mypy.stubtest)."""

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

__all__ = ["__version__", "count_tokens", "count_tokens_many"]
__version__: str

def count_tokens(text: str) -> int: ...
def count_tokens_many(texts: Iterable[str]) -> npt.NDArray[np.uint32]: ...
