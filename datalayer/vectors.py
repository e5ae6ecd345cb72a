"""Validation of embedding vectors before they reach the database.

pgvector rejects wrong dimensions, NaN and infinity with SQLSTATE 22000; checking here
gives callers the datalayer's own :class:`InvalidInputError` and saves a round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from datalayer.errors import InvalidInputError

FloatVector = npt.NDArray[np.float32]


def as_vector(value: Any, dim: int, *, field: str = "embedding") -> FloatVector:
    """``value`` as a float32 vector of length ``dim``, or :class:`InvalidInputError`.

    Zero vectors are refused too: their cosine distance to anything is undefined.
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{field} must be a sequence of numbers", field=field) from None
    if array.ndim != 1:
        raise InvalidInputError(f"{field} must be one-dimensional", field=field)
    if array.shape[0] != dim:
        raise InvalidInputError(
            f"{field} has {array.shape[0]} dimensions, expected {dim}", field=field
        )
    if not np.isfinite(array).all():
        raise InvalidInputError(f"{field} contains NaN or infinity", field=field)
    with np.errstate(over="ignore"):
        as_float32 = array.astype(np.float32)
    if not np.isfinite(as_float32).all():
        raise InvalidInputError(f"{field} has values outside the float32 range", field=field)
    if not as_float32.any():
        raise InvalidInputError(f"{field} is a zero vector", field=field)
    return as_float32


def as_vectors(
    values: Sequence[Any], dim: int, *, field: str = "query_embeddings"
) -> list[FloatVector]:
    return [as_vector(value, dim, field=f"{field}[{index}]") for index, value in enumerate(values)]
