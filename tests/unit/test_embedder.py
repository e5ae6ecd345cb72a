"""The offline feature-hashing embedder and the sample corpus."""

from __future__ import annotations

import numpy as np

from datalayer.local.embedder import HashingEmbedder
from datalayer.local.sample_corpus import generate


def test_embeddings_are_deterministic_unit_vectors() -> None:
    embedder = HashingEmbedder(1536)
    first, again = embedder.embed(["Tomato basil soup"]), embedder.embed(["Tomato basil soup"])
    assert np.array_equal(first[0], again[0])
    assert first[0].shape == (1536,) and np.isclose(np.linalg.norm(first[0]), 1.0)


def test_shared_ingredients_make_neighbours() -> None:
    embedder = HashingEmbedder(1536)
    soup, salad, curry = embedder.embed(
        ["tomato basil garlic soup", "tomato basil garlic salad", "coconut lime curry"]
    )
    assert float(soup @ salad) > 0.5 > float(soup @ curry)


def test_empty_text_still_gives_a_valid_vector() -> None:
    (vector,) = HashingEmbedder(64).embed([""])
    assert np.linalg.norm(vector) > 0


def test_the_sample_corpus_is_reproducible() -> None:
    assert generate(50) == generate(50)
    assert generate(50, seed=1) != generate(50)
    recipes = generate(300)
    assert len({recipe.cuisine_type for recipe in recipes}) == 7
    assert all(1 <= recipe.difficulty <= 5 and len(recipe.ingredients) == 6 for recipe in recipes)
