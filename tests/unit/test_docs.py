"""The README is the user's manual: every setting and every command must be in it."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import click
import pytest

from agentledger.cli import cli
from agentledger.config import Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


@pytest.mark.parametrize("name", [f.name for f in fields(Settings)])
def test_every_setting_is_documented(name: str) -> None:
    assert f"`AGENTLEDGER_{name.upper()}`" in README


def _commands(group: click.Group, prefix: str = "agentledger") -> list[str]:
    found = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        found += _commands(command, path) if isinstance(command, click.Group) else [path]
    return found


@pytest.mark.parametrize("command", _commands(cli))
def test_every_command_is_documented(command: str) -> None:
    group, _, leaf = command.rpartition(" ")
    assert command in README or (group != "agentledger" and f"{group.split()[-1]} {leaf}" in README)
