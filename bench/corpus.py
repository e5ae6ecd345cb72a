"""Seeded recipe texts and search queries for the full-text benchmark.

Recipes are built from a fixed vocabulary (cuisines, dishes, ingredients, styles, methods):
a title, a one-sentence description and 5-12 ingredient names whose popularity follows a
Zipf law (salt and garlic are everywhere, saffron is rare). A query takes 1-3 terms (dish,
cuisine, ingredients) of a randomly chosen recipe, the way someone searches for a dish
they remember, so it matches at least one recipe overall (not necessarily the user's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datalayer.schemas.recipes import content_hash


def _vocabulary(words: str) -> tuple[str, ...]:
    """Space-separated terms; a hyphen joins the words of one term (``olive-oil``)."""
    return tuple(words.split())


CUISINES = _vocabulary(
    "italian mexican thai indian chinese japanese korean vietnamese french spanish greek "
    "turkish lebanese moroccan ethiopian brazilian peruvian american cajun german polish "
    "hungarian swedish british caribbean"
)
DISHES = _vocabulary(
    "curry stew soup salad risotto pasta lasagna pizza tacos burrito enchiladas noodles "
    "ramen pho dumplings bao sushi tempura stir-fry fried-rice paella tagine couscous "
    "shawarma falafel kebab gyro moussaka casserole pie quiche tart omelette frittata "
    "pancakes crepes waffles burger sandwich wrap chowder bisque gumbo chili goulash "
    "pierogi schnitzel meatballs biryani dal korma tikka masala bibimbap bulgogi kimchi "
    "ceviche empanadas arepas gnocchi ravioli carbonara bolognese pilaf roast brownies "
    "cookies cake muffins bread focaccia granola smoothie"
)
INGREDIENTS = _vocabulary(
    "salt garlic onion olive-oil pepper butter egg flour sugar tomato lemon milk chicken "
    "rice potato carrot cheese parsley cream ginger beef soy-sauce cumin paprika basil "
    "cilantro chili lime celery mushroom spinach bell-pepper honey vinegar yogurt pork "
    "thyme oregano coriander turmeric cinnamon shallot scallion bacon parmesan mozzarella "
    "feta beans chickpeas lentils tofu shrimp salmon tuna cod zucchini eggplant cabbage "
    "kale broccoli cauliflower peas corn avocado cucumber apple banana orange berries "
    "almonds walnuts peanuts cashews coconut-milk sesame miso fish-sauce oyster-sauce "
    "rosemary sage dill mint tarragon nutmeg cardamom cloves saffron fennel leek "
    "asparagus artichoke pumpkin squash sweet-potato quinoa oats barley bulgur noodles "
    "pasta bread tortilla lamb duck turkey sausage chorizo anchovies capers olives "
    "mustard mayonnaise ketchup sriracha harissa tahini pesto stock wine beer chocolate "
    "vanilla maple-syrup raisins dates figs apricots pomegranate mango pineapple"
)
STYLES = _vocabulary(
    "easy quick classic spicy creamy crispy smoky hearty healthy vegan vegetarian "
    "gluten-free rustic homemade traditional light zesty sticky cheesy one-pot "
    "weeknight festive summer winter"
)
METHODS = _vocabulary(
    "baked grilled roasted fried braised steamed slow-cooked sauteed poached seared"
)


def _words(term: str) -> str:
    return term.replace("-", " ")


@dataclass(frozen=True)
class RecipeText:
    """The searchable text of one recipe."""

    title: str
    dish: str
    description: str
    instructions: str
    cuisine: str
    ingredient_names: str
    content_hash: str


class RecipeCorpus:
    """Deterministic recipe texts and queries from one seed."""

    def __init__(self, seed: int, *, zipf: float = 1.0) -> None:
        self.seed = seed
        self.zipf = zipf
        weights = 1.0 / np.arange(1, len(INGREDIENTS) + 1, dtype=np.float64) ** zipf
        self._ingredient_weights = weights / weights.sum()

    def recipes(self, count: int) -> list[RecipeText]:
        """``count`` recipes."""
        rng = np.random.default_rng([self.seed, 10])
        return [self._recipe(rng) for _ in range(count)]

    def queries(self, count: int, recipes: list[RecipeText]) -> list[str]:
        """``count`` search strings of 1-3 terms, each set taken from one of ``recipes``."""
        rng = np.random.default_rng([self.seed, 11])
        out = []
        for _ in range(count):
            recipe = recipes[int(rng.integers(len(recipes)))]
            terms = [recipe.dish, recipe.cuisine, *recipe.ingredient_names.split()]
            picked = rng.choice(len(terms), size=int(rng.integers(1, 4)), replace=False)
            out.append(" ".join(terms[i] for i in sorted(picked)))
        return out

    def _recipe(self, rng: np.random.Generator) -> RecipeText:
        cuisine, dish = str(rng.choice(CUISINES)), _words(str(rng.choice(DISHES)))
        style, method = _words(str(rng.choice(STYLES))), _words(str(rng.choice(METHODS)))
        picked = rng.choice(
            len(INGREDIENTS),
            size=int(rng.integers(5, 13)),
            replace=False,
            p=self._ingredient_weights,
        )
        ingredients = [_words(INGREDIENTS[i]) for i in picked]
        title = f"{style.title()} {cuisine.title()} {dish} with {ingredients[0]}"
        if rng.random() < 0.5:
            title += f" and {ingredients[1]}"
        minutes = int(rng.integers(10, 180))
        description = (
            f"A {style} {method} {dish} from {cuisine} cooking with {ingredients[0]}, "
            f"{ingredients[1]} and {ingredients[2]}, ready in {minutes} minutes."
        )
        instructions = (
            f"Prepare the {', '.join(ingredients)}. Cook the {dish} ({method}) until done, "
            "season to taste and serve."
        )
        return RecipeText(
            title=title,
            dish=dish,
            description=description,
            instructions=instructions,
            cuisine=cuisine,
            ingredient_names=" ".join(ingredients),
            content_hash=content_hash(title, description, instructions),
        )
