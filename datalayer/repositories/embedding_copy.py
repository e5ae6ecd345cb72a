"""Rows of ``recipe_embeddings`` in PostgreSQL's binary COPY format, for bulk loads."""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from datalayer.schemas.embeddings import EmbeddingIn

COPY_COLUMNS = ("recipe_id", "user_id", "embedding", "model", "model_version", "source_text_hash")

# PostgreSQL's binary COPY format. Rows are encoded here with numpy rather than through
# psycopg's write_row, whose per-value Python dumping of 1536 floats caps a load at a few
# thousand rows per second.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
COPY_TRAILER = struct.pack("!h", -1)


def copy_row(row: EmbeddingIn, vector: npt.NDArray[np.float32]) -> bytes:
    """One row of ``COPY_COLUMNS`` in binary COPY format (pgvector: dim, 0, big-endian f4)."""
    texts = [value.encode() for value in (row.model, row.model_version, row.source_text_hash)]
    body = struct.pack("!hh", vector.shape[0], 0) + vector.astype(">f4").tobytes()
    parts = [struct.pack("!h", len(COPY_COLUMNS))]
    for field in (row.recipe_id.bytes, row.user_id.bytes, body, *texts):
        parts.append(struct.pack("!i", len(field)))
        parts.append(field)
    return b"".join(parts)
