"""Rows of ``recipe_embeddings`` in PostgreSQL's binary COPY format, for bulk loads.

Rows are validated and encoded a block at a time with numpy (one float32 matrix per block,
checked and byte-swapped in one call each) rather than one vector at a time or through
psycopg's ``write_row``, whose per-value Python work on 1536 floats caps a load at a few
thousand rows per second.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.schemas.embeddings import EmbeddingIn
from datalayer.vectors import as_vector

COPY_COLUMNS = ("recipe_id", "user_id", "embedding", "model", "model_version", "source_text_hash")
COPY_SQL = f"COPY recipe_embeddings ({', '.join(COPY_COLUMNS)}) FROM STDIN WITH (FORMAT BINARY)"
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
COPY_TRAILER = struct.pack("!h", -1)
_UUID_LENGTH = struct.pack("!i", 16)
_ROW_HEAD = struct.pack("!h", len(COPY_COLUMNS)) + _UUID_LENGTH


def vector_matrix(values: Sequence[Any], dim: int) -> npt.NDArray[np.float32]:
    """``values`` as a float32 matrix, one validated vector per row: the rules and
    messages of :func:`datalayer.vectors.as_vector`, checked for all rows at once."""
    try:
        matrix = np.asarray(values)
    except (TypeError, ValueError):
        matrix = np.empty((0, 0))
    if matrix.shape == (len(values), dim) and matrix.dtype.kind in "biuf":
        with np.errstate(over="ignore", invalid="ignore"):
            narrowed = matrix.astype(np.float32, copy=False)
        if np.isfinite(narrowed).all() and narrowed.any(axis=1).all():
            return narrowed
    # Some vector is bad: validate one at a time, so the error is the one as_vector gives.
    return np.stack([as_vector(value, dim) for value in values])


def encode_rows(rows: Sequence[EmbeddingIn], dim: int, chunk: int) -> list[memoryview]:
    """Validate ``rows``' vectors and encode the rows in binary COPY format, ``chunk`` rows
    per block at most (one block per model and version in each chunk; COPY takes the rows
    in any order). The blocks are views of numpy buffers, written to COPY without copies."""
    blocks: list[memoryview] = []
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        vectors = vector_matrix([row.embedding for row in part], dim)
        groups: dict[tuple[str, str], list[int]] = {}
        for index, row in enumerate(part):
            groups.setdefault((row.model, row.model_version), []).append(index)
        blocks += (
            _encode_group([part[i] for i in members], vectors[members], model, version)
            for (model, version), members in groups.items()
        )
    return blocks


def _encode_group(
    rows: list[EmbeddingIn], vectors: npt.NDArray[np.float32], model: str, version: str
) -> memoryview:
    """Rows of one model and version, encoded as one packed numpy record array: every field
    has the same length in each row, so whole columns are filled at once."""
    model_field = _text_field(model)
    version_field = _text_field(version)
    dim = vectors.shape[1]
    layout = np.dtype(
        [
            ("head", f"V{len(_ROW_HEAD)}"),
            ("recipe_id", "V16"),
            ("uuid_length", "V4"),
            ("user_id", "V16"),
            ("vector_head", "V8"),
            ("vector", ">f4", (dim,)),
            ("model", f"V{len(model_field)}"),
            ("version", f"V{len(version_field)}"),
            ("hash_length", "V4"),
            ("source_text_hash", "S64"),  # Sha256Hex: always 64 characters
        ]
    )
    records = np.empty(len(rows), dtype=layout)
    records["head"] = np.void(_ROW_HEAD)
    records["recipe_id"] = np.frombuffer(b"".join(row.recipe_id.bytes for row in rows), "V16")
    records["uuid_length"] = np.void(_UUID_LENGTH)
    records["user_id"] = np.frombuffer(b"".join(row.user_id.bytes for row in rows), "V16")
    records["vector_head"] = np.void(struct.pack("!ihh", 4 + 4 * dim, dim, 0))
    records["vector"] = vectors
    records["model"] = np.void(model_field)
    records["version"] = np.void(version_field)
    records["hash_length"] = np.void(struct.pack("!i", 64))
    records["source_text_hash"] = [row.source_text_hash.encode() for row in rows]
    return records.data.cast("B")


def _text_field(value: str) -> bytes:
    data = value.encode()
    return struct.pack("!i", len(data)) + data


async def copy_rows(session: AsyncSession, blocks: list[memoryview]) -> None:
    """Send blocks of :func:`encode_rows` through one ``COPY ... FROM STDIN`` on the
    session's connection, one write per block."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    async with raw.cursor() as cursor, cursor.copy(COPY_SQL) as copy:
        await copy.write(COPY_HEADER)
        for block in blocks:
            await copy.write(block)
        await copy.write(COPY_TRAILER)
