"""Wall-clock instants as protobuf Timestamps (the one way the services stamp messages)."""

from __future__ import annotations

from google.protobuf.timestamp_pb2 import Timestamp


def now_timestamp() -> Timestamp:
    """The current time as a Timestamp."""
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts
