"""Process lifecycle for service entrypoints: logging and a signal-driven stop event."""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


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


async def serve_until(stop: asyncio.Event, *closers: Callable[[], Any] | None) -> None:
    """Wait for `stop`, then run each closer in order (sync or async; None is skipped).

    One closer failing is logged and does not keep the others from running, so a
    service always drains NATS and stops its health endpoint on the way out.
    """
    try:
        await stop.wait()
    finally:
        for close in closers:
            if close is None:
                continue
            try:
                result = close()
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001 - keep closing the rest
                log.exception("error while shutting down (%s)", getattr(close, "__qualname__", close))
