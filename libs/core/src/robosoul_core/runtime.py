"""Process lifecycle for service entrypoints: logging and a signal-driven stop event."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import Callable, Coroutine


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_main(run: Callable[[], Coroutine]) -> None:
    """A service's `main()`: logging from ROBOSOUL_LOG_LEVEL, then its async `run()` until a signal."""
    setup_logging(os.environ.get("ROBOSOUL_LOG_LEVEL", "INFO"))
    # Fewer, later collections: a service allocates many short-lived messages and
    # the cyclic collector's pauses land in request latency.
    gc.set_threshold(50_000, 20, 20)
    asyncio.run(run())


def stop_event_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT; call from inside the running loop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
