"""Process lifecycle for service entrypoints: logging and a signal-driven stop event."""

from __future__ import annotations

import asyncio
import logging
import signal


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT; call from inside the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
