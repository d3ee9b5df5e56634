"""RoboSoul's shared library: errors, config, tensors, subjects, bus and telemetry.

The generated protocol code lives beside it in the `robosoul` package
(`robosoul.v1` public API, `robosoul.bus.v1` internal payloads).
"""

__version__ = "0.1.0"
