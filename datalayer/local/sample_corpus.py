"""A seeded, offline corpus of recipes with ingredients for the demo and the benchmarks."""

from __future__ import annotations

import random
from dataclasses import dataclass

CUISINES: dict[str, dict[str, list[str]]] = {
    "italian": {
        "base": ["olive oil", "garlic", "parmesan", "basil", "tomato"],
        "mains": ["spaghetti", "risotto rice", "gnocchi", "mozzarella", "porcini mushroom"],
        "dishes": ["pasta", "risotto", "bake", "salad"],
    },
    "thai": {
        "base": ["coconut milk", "fish sauce", "lime", "chili", "lemongrass"],
        "mains": ["shrimp", "chicken thigh", "tofu", "rice noodles", "jasmine rice"],
        "dishes": ["curry", "stir fry", "noodle soup", "salad"],
    },
    "indian": {
        "base": ["garam masala", "cumin", "turmeric", "ginger", "onion"],
        "mains": ["chickpeas", "paneer", "lamb", "red lentils", "spinach"],
        "dishes": ["curry", "dal", "biryani", "masala"],
    },
    "mexican": {
        "base": ["corn tortilla", "lime", "cilantro", "jalapeno", "black beans"],
        "mains": ["pork shoulder", "avocado", "chicken breast", "sweet potato", "beef mince"],
        "dishes": ["tacos", "burrito bowl", "enchiladas", "quesadilla"],
    },
    "japanese": {
        "base": ["soy sauce", "mirin", "rice vinegar", "sesame oil", "scallion"],
        "mains": ["salmon", "udon noodles", "silken tofu", "sushi rice", "shiitake mushroom"],
        "dishes": ["donburi", "ramen", "teriyaki", "noodle bowl"],
    },
    "french": {
        "base": ["butter", "shallot", "thyme", "white wine", "cream"],
        "mains": ["chicken leg", "leek", "beef chuck", "gruyere", "mushroom"],
        "dishes": ["gratin", "stew", "tart", "fricassee"],
    },
    "greek": {
        "base": ["olive oil", "oregano", "lemon", "feta", "red onion"],
        "mains": ["lamb", "aubergine", "chickpeas", "cucumber", "octopus"],
        "dishes": ["souvlaki", "moussaka", "salad", "traybake"],
    },
}
ADJECTIVES = ["rustic", "quick", "spicy", "creamy", "smoky", "zesty", "hearty", "weeknight"]
EXTRAS = ["carrot", "bell pepper", "potato", "egg", "honey", "peanuts", "kale", "courgette"]


@dataclass(frozen=True)
class SampleRecipe:
    title: str
    description: str
    instructions: str
    cuisine_type: str
    difficulty: int
    servings: int
    cooking_time_minutes: int
    tags: list[str]
    ingredients: list[str]


def generate(count: int, seed: int = 2026) -> list[SampleRecipe]:
    """``count`` recipes from a fixed seed: the same corpus on every machine."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not security
    recipes = []
    cuisines = sorted(CUISINES)
    for _ in range(count):
        cuisine = rng.choice(cuisines)
        parts = CUISINES[cuisine]
        main = rng.choice(parts["mains"])
        dish = rng.choice(parts["dishes"])
        ingredients = [main, *rng.sample(parts["base"], 3), *rng.sample(EXTRAS, 2)]
        minutes = rng.choice([10, 15, 20, 30, 45, 60, 90])
        recipes.append(
            SampleRecipe(
                title=f"{rng.choice(ADJECTIVES).title()} {main} {dish}",
                description=(
                    f"A {cuisine} {dish} with {main}, {ingredients[1]} and {ingredients[2]}."
                ),
                instructions=f"Prepare the {main}. Cook with {', '.join(ingredients[1:4])}. Serve.",
                cuisine_type=cuisine,
                difficulty=rng.randint(1, 5),
                servings=rng.choice([1, 2, 4, 6]),
                cooking_time_minutes=minutes,
                tags=[cuisine, dish.split()[0], "quick" if minutes <= 20 else "slow-cooked"],
                ingredients=ingredients,
            )
        )
    return recipes
