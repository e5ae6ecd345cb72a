"""Database tier of the AI recipe application: models, migrations, repositories and operations.

Importing the package is cheap and has no side effects: nothing connects, nothing reads the
environment until `datalayer.settings.get_settings()` is called.
"""

__version__ = "0.1.0"
