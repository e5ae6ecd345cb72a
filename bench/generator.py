"""Seeded clustered embeddings, exact ground truth and difficulty measures.

The generator is a mixture of Gaussian clusters on the unit sphere: each cluster has a
random unit centroid, its own random low-rank subspace with a power-law spectrum
(anisotropic clusters), and every draw gets isotropic noise in all dimensions
before it is normalised to unit length. Cluster popularity follows a Zipf law.

Independent seed streams come from one seed: the mixture itself, the stored rows, the
measured queries and the warm-up queries, so queries are fresh draws from the same
distribution, never copies of rows, and warm-up queries are never the measured ones.
How hard the result is, is stated only by what a run measures (:func:`difficulty` and the
recall HNSW reaches at ef_search=40).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]

_STRUCTURE, _ROWS, _QUERIES, _WARM_UP = 0, 1, 2, 4


@dataclass(frozen=True)
class GeneratorParams:
    """Parameters of the mixture (recorded in the results).

    The defaults were chosen with ``python -m bench.calibrate`` by the recall HNSW (m=16,
    ef_construction=64) reaches at ef_search=40 on 100,000 rows (0.87-0.90 measured):
    200 clusters of rank 48 gave 0.99 at 20,000 rows, 10 clusters of rank 128 gave 0.81
    at 100,000; 50 clusters of rank 128 with a flat spectrum land in between. Recall
    falls as rows grow, so calibrate at the size that is measured.
    """

    dim: int = 1536
    clusters: int = 50
    rank: int = 128
    decay: float = 0.3
    spread: float = 0.7
    noise: float = 0.012
    zipf: float = 0.7
    seed: int = 20261123

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ClusteredGenerator:
    """Draws unit vectors from the mixture described by :class:`GeneratorParams`."""

    def __init__(self, params: GeneratorParams) -> None:
        self.params = params
        structure = np.random.default_rng([params.seed, _STRUCTURE])
        centroids = structure.standard_normal((params.clusters, params.dim), dtype=np.float32)
        self._centroids: Matrix = _normalise(centroids)
        weights = 1.0 / np.arange(1, params.clusters + 1, dtype=np.float64) ** params.zipf
        self._weights = weights / weights.sum()
        spectrum = np.arange(1, params.rank + 1, dtype=np.float64) ** -params.decay
        # Scaled so the expected squared norm of a cluster offset is spread**2.
        self._spectrum = (spectrum * params.spread / np.sqrt((spectrum**2).sum())).astype(
            np.float32
        )

    def rows(self, count: int) -> Matrix:
        """``count`` stored rows (the row stream)."""
        return self._draw(count, _ROWS)

    def queries(self, count: int) -> Matrix:
        """``count`` query vectors, drawn from their own stream."""
        return self._draw(count, _QUERIES)

    def warm_up(self, count: int) -> Matrix:
        """``count`` warm-up query vectors (their own stream, never measured)."""
        return self._draw(count, _WARM_UP)

    def _basis(self, cluster: int) -> Matrix:
        rng = np.random.default_rng([self.params.seed, _STRUCTURE, cluster])
        basis = rng.standard_normal((self.params.rank, self.params.dim), dtype=np.float32)
        return basis / np.float32(np.sqrt(self.params.dim))

    def _draw(self, count: int, stream: int) -> Matrix:
        rng = np.random.default_rng([self.params.seed, stream])
        labels = rng.choice(self.params.clusters, size=count, p=self._weights)
        out = np.empty((count, self.params.dim), dtype=np.float32)
        for cluster in np.unique(labels):
            where = np.flatnonzero(labels == cluster)
            latent = rng.standard_normal((where.size, self.params.rank), dtype=np.float32)
            block = (latent * self._spectrum) @ self._basis(int(cluster))
            block += self._centroids[cluster]
            block += np.float32(self.params.noise) * rng.standard_normal(
                (where.size, self.params.dim), dtype=np.float32
            )
            out[where] = block
        return _normalise(out)


def _normalise(matrix: Matrix) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: Matrix = (matrix / norms).astype(np.float32, copy=False)
    return normalised


def exact_top_k(
    data: Matrix,
    queries: Matrix,
    k: int,
    *,
    subset: IntArray | None = None,
    chunk: int = 20_000,
) -> tuple[IntArray, Matrix]:
    """Exact cosine top-``k`` (row indices, distances) of every query, nearest first.

    Vectors are unit length, so cosine distance is ``1 - dot``. ``subset`` restricts the
    search to those row indices (a filtered search's ground truth).
    """
    rows = np.arange(data.shape[0]) if subset is None else np.sort(subset)
    best_index = np.empty((queries.shape[0], 0), dtype=np.int64)
    best_distance = np.empty((queries.shape[0], 0), dtype=np.float32)
    for start in range(0, rows.size, chunk):
        part = rows[start : start + chunk]
        distance = 1.0 - queries @ data[part].T
        keep = min(k, part.size)
        nearest = np.argpartition(distance, keep - 1, axis=1)[:, :keep]
        best_index = np.hstack([best_index, part[nearest]])
        best_distance = np.hstack([best_distance, np.take_along_axis(distance, nearest, axis=1)])
        if best_index.shape[1] > k:
            order = np.argsort(best_distance, axis=1)[:, :k]
            best_index = np.take_along_axis(best_index, order, axis=1)
            best_distance = np.take_along_axis(best_distance, order, axis=1)
    order = np.argsort(best_distance, axis=1)
    return np.take_along_axis(best_index, order, axis=1), np.take_along_axis(
        best_distance, order, axis=1
    )


def difficulty(
    distances: Matrix, data: Matrix, queries: Matrix, *, sample: int = 2000
) -> dict[str, float]:
    """How hard the queries are: local intrinsic dimension and relative contrast.

    LID is the maximum-likelihood estimate from each query's k nearest distances (median over
    queries; higher is harder); relative contrast is the mean distance to a random row
    divided by the distance to the nearest one (closer to 1 is harder).
    """
    nearest = np.maximum(distances.astype(np.float64), 1e-12)
    ratios = np.log(nearest[:, :-1] / nearest[:, -1:])
    lid = -1.0 / ratios.mean(axis=1)
    rng = np.random.default_rng(0)
    picked = rng.choice(data.shape[0], size=min(sample, data.shape[0]), replace=False)
    mean_distance = (1.0 - queries @ data[picked].T).mean(axis=1)
    return {
        "lid_median": round(float(np.median(lid)), 2),
        "relative_contrast_median": round(float(np.median(mean_distance / nearest[:, 0])), 3),
        "nearest_distance_median": round(float(np.median(nearest[:, 0])), 4),
        "kth_distance_median": round(float(np.median(nearest[:, -1])), 4),
        "random_pair_distance_mean": round(float(mean_distance.mean()), 4),
    }


def recall_at_k(found: list[list[int]], truth: IntArray) -> list[float]:
    """Per-query recall: the share of the true top-k found (k = ``truth.shape[1]``)."""
    k = truth.shape[1]
    return [
        len(set(hits[:k]) & set(row.tolist())) / k for hits, row in zip(found, truth, strict=True)
    ]
