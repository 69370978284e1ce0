"""The one `clearing` command. Sub-commands live in ``clearing.commands.*``.

Each module there registers its commands on the groups defined here, so
adding a job never means editing a shared file much.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from clearing.domain.errors import NettingInfeasible
from clearing.errors import ChainError, ClearingError, ServiceUnavailable


class SettingsCommand(click.Command):
    """A command whose ``--help`` ends with every environment variable it reads.

    ``reads`` names settings groups it uses whole (``database``, ``chain``, ``api``, ``cycle``) or
    single variables (``CLEARING_CHAIN__BACKEND``); options bound to a variable (``envvar=``, shown
    by ``show_envvar``) are listed too. Group members come from the settings models when help is
    shown, so the command starts without importing them.
    """

    def __init__(self, *args: Any, reads: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads = reads

    def environment(self) -> tuple[list[tuple[str, str]], list[str]]:
        """(variable, what it sets) rows and the settings groups read whole."""
        rows = [
            (p.envvar, f"sets --{(p.name or '').replace('_', '-')}")
            for p in self.params
            if isinstance(p, click.Option) and isinstance(p.envvar, str)
        ]
        named = {name for name, _ in rows}
        rows += [(name, "") for name in self.reads if name.startswith("CLEARING_") and name not in named]
        return rows, [group for group in self.reads if not group.startswith("CLEARING_")]

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        from clearing.settings import environment_variables

        rows, groups = self.environment()
        with formatter.section("Environment"):
            if not rows and not groups:
                formatter.write_text("none: everything this command uses is given by its options")
            if rows:
                formatter.write_dl(rows)
            for group in groups:
                formatter.write_text(f"{group} settings: " + ", ".join(environment_variables(group)))


class SettingsGroup(click.Group):
    """Every command made under it (and under its sub-groups) is a :class:`SettingsCommand`."""

    command_class = SettingsCommand
    group_class = type


@click.group(cls=SettingsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clearing")
def cli() -> None:
    """Clearing house for inter-platform obligations, settled on an EVM chain."""


@cli.group()
def bench() -> None:
    """Benchmarks: each prints JSON with a baseline measured in the same run."""


@cli.group()
def contracts() -> None:
    """Compile and inspect the Solidity contracts."""


@cli.group()
def chain() -> None:
    """Run a local chain."""


@cli.group()
def audit() -> None:
    """Verify cycles, obligations and balances against the chain."""


_COMMAND_MODULES = (
    "net",
    "contracts",
    "chain",
    "bench",
    "service",
    "audit",
    "demo",
    "dev",
    "cycles",
    "disputes",
    "credit",
    "forecast",
    "calendar",
    "alerts",
    "lender",
    "cover2",
    "defaults",
    "financing",
    "merchants",
    "pledges",
    "simulate",
)


#: Commands whose module is known load alone: ``clearing net`` is a stable entry point other
#: tools run once per cycle, and importing every command module (SQLAlchemy, web3, FastAPI)
#: took ~2 s of its 3 s on 100,000 obligations.
_ALONE = {"net": ("net",)}


def load_commands(argv: list[str] | None = None) -> None:
    """Register the sub-commands ``argv`` needs: all of them, unless it starts with an ``_ALONE`` command."""
    first = argv[0] if argv else ""
    for name in _ALONE.get(first, _COMMAND_MODULES):
        try:
            importlib.import_module(f"clearing.commands.{name}")
        except ModuleNotFoundError as exc:  # a module not written yet
            if exc.name != f"clearing.commands.{name}":
                raise


def main(argv: list[str] | None = None) -> None:
    """Entry point: clean one-line errors and non-zero exit codes."""
    load_commands(argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="clearing", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:  # one readable line, as for every other bad input
        where = f"; see '{exc.ctx.command_path} --help'" if exc.ctx is not None else ""
        click.echo(f"error: {exc.format_message()}{where}", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except ClearingError as exc:
        click.echo(f"error: {exc.message}", err=True)
        # 1: the service or chain failed (retrying may help); 2: the input was wrong.
        sys.exit(1 if isinstance(exc, (ChainError, ServiceUnavailable, NettingInfeasible)) else 2)
