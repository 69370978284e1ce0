"""`clearing chain up`: Anvil on loopback for local work."""

from __future__ import annotations

import signal
import time

import click

from clearing.cli import chain


@chain.command("up")
@click.option("--port", default=8545, show_default=True)
@click.option("--chain-id", default=31337, show_default=True)
def up(port: int, chain_id: int) -> None:
    """Run Anvil on 127.0.0.1 until interrupted (dev mnemonic accounts)."""
    from clearing.adapters.chain.backends import spawn_anvil

    node = spawn_anvil(port, chain_id)
    click.echo(f"anvil listening on {node.rpc_url} (chain id {chain_id}); Ctrl-C stops it", err=True)
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stop and node._process and node._process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        node.close()
