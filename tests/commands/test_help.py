"""Every command's `--help` names the environment variables it reads, and only real ones."""

from __future__ import annotations

import re
import subprocess

import click
import pytest

from clearing.cli import SettingsCommand, cli, load_commands
from clearing.settings import Settings, environment_variables
from tests.conftest import CLEARING_EXE, clearing_env

load_commands()

#: Every variable the settings read, and the one the benches read for their PostgreSQL server.
KNOWN = {name for group in Settings.model_fields if group != "database_url" for name in environment_variables(group)}
KNOWN.add("CLEARING_TEST_POSTGRES_URL")


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            out += _commands(command, (*path, name))
        else:
            out.append(((*path, name), command))
    return out


COMMANDS = _commands(cli)


def _help(path: tuple[str, ...]) -> str:
    proc = subprocess.run(
        [CLEARING_EXE, *path, "--help"], env=clearing_env(), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_command_is_walked():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"serve", "dev fund", "audit verify", "bench netting", "net", "demo", "deploy"} <= names


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=" ".join)
def test_help_names_the_environment_it_reads(path):
    command = dict(COMMANDS)[path]
    assert isinstance(command, SettingsCommand)
    text = _help(path)
    flat = " ".join(text.split())
    assert "\nEnvironment:\n" in text
    for option in command.params:
        if isinstance(option, click.Option) and option.envvar:
            assert option.show_envvar, f"--{option.name} reads {option.envvar} without saying so"
            assert f"[env var: {option.envvar}" in flat
    assert set(re.findall(r"CLEARING_[A-Z0-9_]+", flat)) <= KNOWN


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            ("serve",),
            ["CLEARING_DATABASE_URL", "CLEARING_CHAIN__BACKEND", "CLEARING_CHAIN__RPC_URL", "CLEARING_API__PORT"],
        ),
        (
            ("dev", "fund"),
            [
                "CLEARING_CHAIN__RPC_URL",
                "CLEARING_CHAIN__DEPLOYMENT",
                "CLEARING_CHAIN__BACKEND",
                "CLEARING_DATABASE_URL",
            ],
        ),
        (("audit", "verify"), ["CLEARING_DATABASE_URL", "CLEARING_CHAIN__BACKEND", "CLEARING_CHAIN__RPC_URL"]),
        (("deploy",), ["CLEARING_CHAIN__RPC_URL", "CLEARING_CHAIN__PRIVATE_KEY"]),
        (("audit", "check-proof"), ["CLEARING_CHAIN__RPC_URL"]),
        (("db", "upgrade"), ["CLEARING_DATABASE_URL"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else "",
)
def test_help_of_commands_that_read_settings(path, expected):
    section = _help(path).split("\nEnvironment:\n", 1)[1]
    for name in expected:
        assert name in section


def test_commands_that_read_nothing_say_so():
    assert "none: everything this command uses is given by its options" in _help(("net",))
