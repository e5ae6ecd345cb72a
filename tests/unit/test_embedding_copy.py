"""The binary COPY encoding of bulk loads: byte for byte what PostgreSQL's format says, and
the vector checks of single writes applied to every row."""

from __future__ import annotations

import struct
import uuid
from typing import Any

import numpy as np
import pytest

from datalayer.errors import InvalidInputError
from datalayer.repositories.embedding_copy import (
    LOADED_COLUMNS,
    encode_rows,
    random_uuids,
    vector_matrix,
)
from datalayer.schemas.embeddings import EmbeddingIn
from datalayer.vectors import as_vector

DIM = 8


def reference_row(row: EmbeddingIn, row_id: bytes) -> bytes:
    """One row as the binary COPY format describes it, field by field."""
    vector = np.asarray(row.embedding, dtype=np.float64).astype(np.float32)
    fields = [
        row_id,
        row.recipe_id.bytes,
        row.user_id.bytes,
        struct.pack("!hh", DIM, 0) + vector.astype(">f4").tobytes(),
        row.model.encode(),
        row.model_version.encode(),
        row.source_text_hash.encode(),
    ]
    return struct.pack("!h", len(LOADED_COLUMNS)) + b"".join(
        struct.pack("!i", len(field)) + field for field in fields
    )


def rows(count: int, **overrides: Any) -> list[EmbeddingIn]:
    rng = np.random.default_rng(count)
    return [
        EmbeddingIn(
            recipe_id=uuid.uuid4(),
            user_id=uuid.uuid4(),
            embedding=overrides.get("embedding", rng.normal(size=DIM)),
            model=["text-embed", "other-model"][index % 2] if overrides.get("mixed") else "m",
            model_version=["1", "2024-06"][index % 3 == 0] if overrides.get("mixed") else "1",
            source_text_hash=f"{index:064x}",
        )
        for index in range(count)
    ]


def split_rows(data: bytes) -> list[bytes]:
    """The rows of a COPY stream body, read by their field lengths."""
    found, at = [], 0
    while at < len(data):
        start = at
        (columns,) = struct.unpack_from("!h", data, at)
        at += 2
        for _ in range(columns):
            (length,) = struct.unpack_from("!i", data, at)
            at += 4 + length
        found.append(data[start:at])
    return found


def row_id(encoded: bytes) -> bytes:
    """The ``id`` of an encoded row: the first field, after the field count and its length."""
    return encoded[6:22]


def without_ids(blocks: list[memoryview]) -> list[bytes]:
    """The encoded rows with their (random) ids cut out."""
    return [data[:6] + data[22:] for data in split_rows(b"".join(map(bytes, blocks)))]


def test_rows_encode_byte_for_byte_as_the_format_says() -> None:
    loaded = rows(25)
    blocks = encode_rows(loaded, DIM, chunk=10)
    assert [len(split_rows(bytes(block))) for block in blocks] == [10, 10, 5]
    encoded = split_rows(b"".join(map(bytes, blocks)))
    # Each chunk in ascending recipe_id order, the ids ascending too.
    expected = [
        row
        for start in (0, 10, 20)
        for row in sorted(loaded[start : start + 10], key=lambda row: row.recipe_id)
    ]
    assert encoded == [
        reference_row(row, row_id(e)) for row, e in zip(expected, encoded, strict=True)
    ]
    for start in (0, 10, 20):
        ids = [uuid.UUID(bytes=row_id(e)) for e in encoded[start : start + 10]]
        assert ids == sorted(ids)


def test_every_row_gets_its_own_random_version_4_uuid() -> None:
    ids = [row_id(e) for e in split_rows(b"".join(map(bytes, encode_rows(rows(50), DIM, 20))))]
    assert len(set(ids)) == 50
    assert {(uuid.UUID(bytes=i).version, uuid.UUID(bytes=i).variant) for i in ids} == {
        (4, uuid.RFC_4122)
    }
    assert len({bytes(value) for value in random_uuids(1000)}) == 1000


def test_rows_of_several_models_are_all_encoded() -> None:
    loaded = rows(25, mixed=True)
    encoded = split_rows(b"".join(map(bytes, encode_rows(loaded, DIM, chunk=10))))
    # Grouped by model and version inside each chunk: the same rows in another order.
    by_hash = {row.source_text_hash.encode(): row for row in loaded}
    assert len(encoded) == len(loaded)
    for data in encoded:
        assert data == reference_row(by_hash[data[-64:]], row_id(data))


def test_lists_integers_and_float64_encode_like_float32_arrays() -> None:
    base = rows(3)
    as_lists = [row.model_copy(update={"embedding": list(row.embedding)}) for row in base]
    as_float32 = [
        row.model_copy(update={"embedding": np.asarray(row.embedding, np.float32)}) for row in base
    ]
    assert without_ids(encode_rows(as_lists, DIM, 10)) == without_ids(
        encode_rows(as_float32, DIM, 10)
    )
    integers = vector_matrix([[1] * DIM, [0, 2] * (DIM // 2)], DIM)
    assert integers.dtype == np.float32 and integers[1, 1] == 2.0


@pytest.mark.parametrize(
    "bad",
    [
        [0.0] * DIM,
        [float("nan")] + [1.0] * (DIM - 1),
        [1e39] * DIM,
        [1.0] * (DIM + 1),
        "not a vector",
        [[1.0] * DIM],
    ],
)
def test_one_bad_vector_among_good_ones_gives_the_single_write_error(bad: Any) -> None:
    good = list(np.ones(DIM))
    with pytest.raises(InvalidInputError) as single:
        as_vector(bad, DIM, field="rows[41].embedding")
    with pytest.raises(InvalidInputError) as batch:
        vector_matrix([good, bad, good], DIM, first_row=40)
    assert str(batch.value) == str(single.value)
    assert batch.value.field == "rows[41].embedding"


def test_the_error_names_the_first_bad_row_of_the_whole_load() -> None:
    loaded = rows(30)
    loaded[23] = loaded[23].model_copy(update={"embedding": [float("inf")] * DIM})
    loaded[27] = loaded[27].model_copy(update={"embedding": [1.0] * (DIM - 1)})
    with pytest.raises(InvalidInputError, match=r"^rows\[23\]\.embedding contains NaN"):
        encode_rows(loaded, DIM, chunk=10)
