"""Text embedders. :class:`HashingEmbedder` is a deterministic, offline stand-in for a model.

It hashes word and word-pair tokens into ``dim`` buckets with a random sign (feature hashing)
and L2-normalises the result, so texts that share words (recipes that share ingredients) are
near neighbours by cosine distance. A real model plugs in through :class:`Embedder`.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from datalayer.vectors import FloatVector

_TOKEN = re.compile(r"[a-z]+")


class Embedder(Protocol):
    """What the AI pipeline needs from an embedding model."""

    model: str
    version: str
    dim: int

    def embed(self, texts: Sequence[str]) -> list[FloatVector]: ...


class HashingEmbedder:
    """Feature-hashing embedder: deterministic, needs no model download."""

    model = "feature-hashing"
    version = "1"

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> list[FloatVector]:
        return [self._embed_one(text) for text in texts]

    def _embed_one(self, text: str) -> FloatVector:
        words = _TOKEN.findall(text.lower())
        tokens = words + [f"{a}_{b}" for a, b in itertools.pairwise(words)]
        vector = np.zeros(self.dim, dtype=np.float32)
        for token in tokens:
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            value = int.from_bytes(digest, "little")
            vector[value % self.dim] += 1.0 if (value >> 63) & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            vector[0] = 1.0  # an empty text still gets a valid (non-zero) vector
            return vector
        return vector / norm
