"""Rows of ``recipe_embeddings`` in PostgreSQL's binary COPY format, for bulk loads.

A load is checked in full before anything is sent (:func:`checked_chunks`): each chunk's
vectors become one float32 matrix, checked with one numpy call per rule. Encoding is numpy
too (:func:`encode_chunk`: one packed record array per chunk, whole columns filled at
once), not psycopg's ``write_row``, whose per-value Python work on 1536 floats caps a load
at a few thousand rows per second. :func:`copy_rows` encodes the next chunk in a worker
thread while the server takes the current one.

Each row's ``id`` is drawn here, a random (version 4) UUID like the column's default
``gen_random_uuid()``: PostgreSQL's COPY inserts one row at a time into a table with a
volatile default it has to evaluate, and in batches when every such column is given.
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy.ext.asyncio import AsyncSession

from datalayer.schemas.embeddings import EmbeddingIn
from datalayer.vectors import as_vector

COPY_COLUMNS = ("recipe_id", "user_id", "embedding", "model", "model_version", "source_text_hash")
"""The columns a caller's row gives (the benchmark's other load paths write the same)."""
LOADED_COLUMNS = ("id", *COPY_COLUMNS)
COPY_SQL = f"COPY recipe_embeddings ({', '.join(LOADED_COLUMNS)}) FROM STDIN WITH (FORMAT BINARY)"
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
COPY_TRAILER = struct.pack("!h", -1)
_UUID_LENGTH = struct.pack("!i", 16)
_ROW_HEAD = struct.pack("!h", len(LOADED_COLUMNS)) + _UUID_LENGTH


@dataclass(frozen=True)
class Chunk:
    """Rows of a load whose vectors passed the checks, with those vectors as one matrix."""

    rows: Sequence[EmbeddingIn]
    vectors: npt.NDArray[np.float32]


def vector_matrix(
    values: Sequence[Any], dim: int, *, first_row: int = 0
) -> npt.NDArray[np.float32]:
    """``values`` as a float32 matrix, one validated vector per row: the rules of
    :func:`datalayer.vectors.as_vector`, checked for all rows at once. The error names the
    first bad row, counted from ``first_row`` (``rows[73000].embedding``)."""
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
    return np.stack(
        [
            as_vector(value, dim, field=f"rows[{first_row + index}].embedding")
            for index, value in enumerate(values)
        ]
    )


def checked_chunks(rows: Sequence[EmbeddingIn], dim: int, chunk: int) -> list[Chunk]:
    """``rows`` in chunks of at most ``chunk`` rows, every vector checked; the first bad
    one raises :class:`~datalayer.errors.InvalidInputError`."""
    return [
        Chunk(part, vector_matrix([row.embedding for row in part], dim, first_row=start))
        for start in range(0, len(rows), chunk)
        for part in (rows[start : start + chunk],)
    ]


def encode_chunk(chunk: Chunk) -> list[memoryview]:
    """The rows of ``chunk`` in binary COPY format: one block per model and version (COPY
    takes the rows in any order), each a view of a numpy buffer, written without copies."""
    groups: dict[tuple[str, str], list[int]] = {}
    for index, row in enumerate(chunk.rows):
        groups.setdefault((row.model, row.model_version), []).append(index)
    if len(groups) == 1:
        ((model, version),) = groups
        return [_encode_group(chunk.rows, chunk.vectors, model, version)]
    return [
        _encode_group([chunk.rows[i] for i in members], chunk.vectors[members], model, version)
        for (model, version), members in groups.items()
    ]


def encode_rows(rows: Sequence[EmbeddingIn], dim: int, chunk: int) -> list[memoryview]:
    """:func:`checked_chunks` and :func:`encode_chunk` of every chunk, in order."""
    return [block for part in checked_chunks(rows, dim, chunk) for block in encode_chunk(part)]


def random_uuids(count: int) -> npt.NDArray[np.void]:
    """``count`` random version 4 UUIDs (RFC 9562), as 16-byte values."""
    raw = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    return raw.view("V16").ravel()


def _encode_group(
    rows: Sequence[EmbeddingIn], vectors: npt.NDArray[np.float32], model: str, version: str
) -> memoryview:
    """Rows of one model and version, encoded as one packed numpy record array: every field
    has the same length in each row, so whole columns are filled at once."""
    model_field = _text_field(model)
    version_field = _text_field(version)
    dim = vectors.shape[1]
    layout = np.dtype(
        [
            ("head", f"V{len(_ROW_HEAD)}"),
            ("id", "V16"),
            ("recipe_id_length", "V4"),
            ("recipe_id", "V16"),
            ("user_id_length", "V4"),
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
    records["recipe_id_length"] = np.void(_UUID_LENGTH)
    recipe_ids = np.frombuffer(b"".join(row.recipe_id.bytes for row in rows), "V16")
    records["recipe_id"] = recipe_ids
    records["user_id_length"] = np.void(_UUID_LENGTH)
    records["user_id"] = np.frombuffer(b"".join(row.user_id.bytes for row in rows), "V16")
    records["vector_head"] = np.void(struct.pack("!ihh", 4 + 4 * dim, dim, 0))
    records["vector"] = vectors
    records["model"] = np.void(model_field)
    records["version"] = np.void(version_field)
    records["hash_length"] = np.void(struct.pack("!i", 64))
    records["source_text_hash"] = [row.source_text_hash.encode() for row in rows]
    # In ascending recipe_id order, with ascending ids: the server then inserts into the
    # unique indexes and probes ``recipes`` for the foreign key in key order, one sweep over
    # each b-tree instead of a random page per row.
    records = records[_ascending(recipe_ids)]
    ids = random_uuids(len(rows))
    records["id"] = ids[_ascending(ids)]
    return records.data.cast("B")


def _ascending(uuids: npt.NDArray[np.void]) -> npt.NDArray[np.intp]:
    """The order that sorts 16-byte values (a contiguous array) as PostgreSQL sorts UUIDs."""
    halves = uuids.view(">u8").reshape(-1, 2)
    order: npt.NDArray[np.intp] = np.lexsort((halves[:, 1], halves[:, 0]))
    return order


def _text_field(value: str) -> bytes:
    data = value.encode()
    return struct.pack("!i", len(data)) + data


async def copy_rows(session: AsyncSession, chunks: Sequence[Chunk]) -> None:
    """Send ``chunks`` through one ``COPY ... FROM STDIN`` on the session's connection,
    encoding each one (:func:`encode_chunk`) in a worker thread while the previous one is
    being written, so the server does not wait for the client's encoding."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    loop = asyncio.get_running_loop()
    async with raw.cursor() as cursor, cursor.copy(COPY_SQL) as copy:
        await copy.write(COPY_HEADER)
        encoding = loop.run_in_executor(None, encode_chunk, chunks[0]) if chunks else None
        for index in range(len(chunks)):
            assert encoding is not None
            blocks = await encoding
            if index + 1 < len(chunks):
                encoding = loop.run_in_executor(None, encode_chunk, chunks[index + 1])
            for block in blocks:
                await copy.write(block)
        await copy.write(COPY_TRAILER)
