"""Rows of ``recipe_embeddings`` in PostgreSQL's binary COPY format, for bulk loads.

A load goes in chunks (:func:`encode_chunk`): each chunk's vectors become one float32
matrix, checked with one numpy call per rule, then the chunk is encoded with numpy too (one
packed record array, whole columns filled at once), not psycopg's ``write_row``, whose
per-value Python work on 1536 floats caps a load at a few thousand rows per second.
:func:`copy_rows` checks and encodes the next chunk in a worker thread while the server
takes the current one, so only a few chunks are in memory at any time: checking a whole
load up front held all its vectors (600 MB per 100,000 rows), and their fresh memory pages
cost about a second per 100,000 rows before the COPY could start.
A bad vector in a later chunk aborts the COPY, and the load's transaction writes nothing.

Each row's ``id`` is drawn here, a random (version 4) UUID like the column's default
``gen_random_uuid()``: PostgreSQL's COPY inserts one row at a time into a table with a
volatile default it has to evaluate, and in batches when every such column is given.
"""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import Sequence
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


def encode_chunk(rows: Sequence[EmbeddingIn], dim: int, first_row: int = 0) -> list[memoryview]:
    """Check the vectors of ``rows`` and encode the rows in binary COPY format: one block per
    model and version (COPY takes the rows in any order), each a view of a numpy buffer,
    written without copies. The first bad vector raises
    :class:`~datalayer.errors.InvalidInputError` naming its row, counted from
    ``first_row``."""
    vectors = vector_matrix([row.embedding for row in rows], dim, first_row=first_row)
    groups: dict[tuple[str, str], list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault((row.model, row.model_version), []).append(index)
    if len(groups) == 1:
        ((model, version),) = groups
        return [_encode_group(rows, vectors, model, version)]
    return [
        _encode_group([rows[i] for i in members], vectors[members], model, version)
        for (model, version), members in groups.items()
    ]


def encode_rows(rows: Sequence[EmbeddingIn], dim: int, chunk: int) -> list[memoryview]:
    """:func:`encode_chunk` of every chunk of ``chunk`` rows, in order."""
    return [
        block
        for start in range(0, len(rows), chunk)
        for block in encode_chunk(rows[start : start + chunk], dim, first_row=start)
    ]


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


async def copy_rows(
    session: AsyncSession, rows: Sequence[EmbeddingIn], dim: int, chunk: int
) -> None:
    """Send ``rows`` through one ``COPY ... FROM STDIN`` on the session's connection, in
    chunks of ``chunk`` rows, checking and encoding each one (:func:`encode_chunk`) in a
    worker thread while the previous one is being written, so the server does not wait for
    the client. A bad vector ends the COPY with the chunk's
    :class:`~datalayer.errors.InvalidInputError`; the caller's transaction then rolls back."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    loop = asyncio.get_running_loop()

    def encoded(start: int) -> asyncio.Future[list[memoryview]]:
        return loop.run_in_executor(None, encode_chunk, rows[start : start + chunk], dim, start)

    starts = range(0, len(rows), chunk)
    pending = encoded(0) if rows else None
    try:
        async with raw.cursor() as cursor, cursor.copy(COPY_SQL) as copy:
            await copy.write(COPY_HEADER)
            for start in starts:
                assert pending is not None
                blocks = await pending
                pending = encoded(start + chunk) if start + chunk < len(rows) else None
                for block in blocks:
                    await copy.write(block)
            await copy.write(COPY_TRAILER)
    finally:
        if pending is not None:  # the COPY failed while the next chunk was being encoded
            if pending.done() and not pending.cancelled():
                pending.exception()  # retrieved: asyncio would log an unretrieved one as lost
            pending.cancel()
