"""The one `clearing` command. Sub-commands live in ``clearing.commands.*``.

Each module there registers its commands on the groups defined here, so
adding a job never means editing a shared file much.
"""

from __future__ import annotations

import importlib
import sys

import click

from clearing.domain.errors import NettingInfeasible
from clearing.errors import ChainError, ClearingError, ServiceUnavailable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


_COMMAND_MODULES = ("net", "contracts", "chain", "bench", "service", "audit", "demo", "dev", "cycles")


def _load_commands() -> None:
    for name in _COMMAND_MODULES:
        try:
            importlib.import_module(f"clearing.commands.{name}")
        except ModuleNotFoundError as exc:  # a module not written yet
            if exc.name != f"clearing.commands.{name}":
                raise


def main(argv: list[str] | None = None) -> None:
    """Entry point: clean one-line errors and non-zero exit codes."""
    _load_commands()
    try:
        cli.main(args=argv, prog_name="clearing", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
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
