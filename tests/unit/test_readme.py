"""The README documents every setting, and claims no command the CLI lacks."""

from __future__ import annotations

import re
from pathlib import Path

from typer.main import get_command

from datalayer.cli import app
from datalayer.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table() -> None:
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in README]
    assert missing == []


def test_every_documented_command_exists() -> None:
    documented = set(re.findall(r"python -m datalayer ([a-z]+)(?: ([a-z]+))?", README))
    assert len(documented) >= 12
    root = get_command(app)
    for group, sub in sorted(documented):
        command = root.commands.get(group)  # type: ignore[attr-defined]
        assert command is not None, group
        subcommands = getattr(command, "commands", None)
        if subcommands is not None:
            assert sub in subcommands, f"{group} {sub}"
