"""Run the camera gateway: ``python -m gateway`` (settings from the environment)."""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import signal
import sys

from aiohttp import web

from gateway.config import ConfigError, GatewayConfig
from gateway.server import create_app
from gateway.service import Gateway

log = logging.getLogger("gateway")


async def serve(config: GatewayConfig) -> None:
    """Serve until SIGTERM/SIGINT, then end every view and stop every camera."""
    gateway = Gateway(config)
    runner = web.AppRunner(
        create_app(gateway), access_log=None
    )  # access logs would hold session ids only, but add noise
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await gateway.start()
    try:
        await web.TCPSite(runner, config.bind_host, config.bind_port).start()
        log.info("gateway %s listening on %s:%d", config.gateway_id, config.bind_host, config.bind_port)
        await stop.wait()
        log.info("shutting down")
    finally:
        await gateway.close()
        await runner.cleanup()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>`: every thread's stack to stderr, for stalls
    logging.getLogger("aiortc").setLevel(logging.WARNING)
    logging.getLogger("aioice").setLevel(logging.WARNING)
    try:
        config = GatewayConfig.from_env()
    except ConfigError as exc:
        log.error("bad configuration: %s", exc)
        sys.exit(2)
    asyncio.run(serve(config))


if __name__ == "__main__":
    main()
