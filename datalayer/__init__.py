"""Database tier of the AI recipe application: models, migrations, repositories and operations.

Importing the package is cheap and has no side effects: nothing connects, nothing reads the
environment until :meth:`DataLayer.from_settings` (or ``datalayer.settings.get_settings()``)
is called.

.. code-block:: python

    from datalayer import DataLayer

    async with DataLayer.from_settings() as dl:
        page = await dl.recipes.search_recipes(user_id, "tomato basil")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["DataLayer", "__version__"]

if TYPE_CHECKING:
    from datalayer.runtime import DataLayer


def __getattr__(name: str) -> Any:
    # DataLayer pulls in SQLAlchemy and every repository: import it on first use only.
    if name == "DataLayer":
        from datalayer.runtime import DataLayer

        return DataLayer
    raise AttributeError(f"module 'datalayer' has no attribute {name!r}")
