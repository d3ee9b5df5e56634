"""Policy backends behind one small interface: Triton (served) or ONNX in process.

Both take the batched tensors of `robosoul_core.policy_io` and return actions
plus the model version that produced them.
"""

from __future__ import annotations

import abc
import asyncio
import json
import logging
import time
from dataclasses import dataclass

import numpy as np
from opentelemetry import trace

from robosoul_core import policy_io
from robosoul_core.errors import DeadlineExceeded, FailedPrecondition, Unavailable
from robosoul_core.telemetry import inject

log = logging.getLogger(__name__)
tracer = trace.get_tracer("robosoul.motion")

# An unknown embodiment triggers a table refresh at most this often.
MISS_REFRESH_S = 0.25


@dataclass(frozen=True)
class PolicyOutput:
    actions: np.ndarray  # [B, HORIZON, MAX_DOF]
    version: str


class Policy(abc.ABC):
    """A motion policy: batched inference plus the table of bodies it can drive."""

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    def embodiment_index(self, tag: str) -> int:
        """Index of the body's adapter in the model; FailedPrecondition if it has none."""

    async def resolve(self, tag: str) -> int:
        """Like embodiment_index, but a backend may first look for a newly published body."""
        return self.embodiment_index(tag)

    @abc.abstractmethod
    async def infer(self, state: np.ndarray, goal: np.ndarray, embodiment: np.ndarray) -> PolicyOutput: ...

    @property
    def ready(self) -> bool:
        return True


def trace_headers() -> dict[str, str]:
    """W3C headers for Triton, only for sampled spans: Triton 2.51 traces any request
    carrying a traceparent, whatever its sampled flag, and tracing is costly there."""
    if not trace.get_current_span().get_span_context().trace_flags.sampled:
        return {}
    return inject()


def _lookup(table: dict[str, int], tag: str) -> int:
    try:
        return table[tag]
    except KeyError:
        known = ", ".join(sorted(table)) or "none"
        raise FailedPrecondition(
            f"no policy for embodiment {tag or '(untagged)'!r} yet (served: {known}); onboard the robot first"
        ) from None


class TritonPolicy(Policy):
    """The policy served by Triton over gRPC (tritonclient.grpc.aio)."""

    def __init__(self, url: str, model_name: str, *, timeout_s: float, refresh_s: float = 2.0):
        self._url = url
        self._model = model_name
        self._timeout = timeout_s
        self._refresh_s = refresh_s
        self._client = None
        self._table: dict[str, int] = {}
        self._refresher: asyncio.Task | None = None
        self._ready = False
        self._last_refresh = 0.0
        self._refresh_lock = asyncio.Lock()

    async def start(self) -> None:
        import tritonclient.grpc.aio as triton

        self._client = triton.InferenceServerClient(self._url)
        await self.refresh()
        self._refresher = asyncio.create_task(self._refresh_forever())

    async def stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
        if self._client is not None:
            await self._client.close()

    @property
    def ready(self) -> bool:
        return self._ready

    async def refresh(self) -> None:
        """Re-read the embodiment table from the served model's config."""
        self._last_refresh = time.monotonic()
        try:
            cfg = await self._client.get_model_config(self._model, as_json=True, client_timeout=max(self._timeout, 2.0))
            raw = cfg["config"].get("parameters", {}).get("embodiments", {}).get("string_value", "{}")
            self._table = {str(k): int(v) for k, v in json.loads(raw).items()}
            self._ready = True
        except Exception as exc:
            if self._ready:
                log.warning("cannot read %s config from Triton at %s: %s", self._model, self._url, exc)
            self._ready = False

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            await self.refresh()

    def embodiment_index(self, tag: str) -> int:
        if not self._ready:
            raise Unavailable(f"the policy model {self._model!r} is not available on Triton at {self._url}")
        return _lookup(self._table, tag)

    async def resolve(self, tag: str) -> int:
        """An unknown body may have just been onboarded: re-read the table before refusing, so a
        robot switches over the moment its policy is live. Reads are at most every MISS_REFRESH_S
        (shared by concurrent misses); a miss just after a read waits for the next one rather
        than trusting a table read before the body was published."""
        if tag and tag not in self._table:
            asked = time.monotonic()
            async with self._refresh_lock:
                # A read that started after this miss answers it too.
                if tag not in self._table and self._last_refresh < asked:
                    wait = MISS_REFRESH_S - (time.monotonic() - self._last_refresh)
                    if wait > 0:
                        await asyncio.sleep(wait)
                    await self.refresh()
        return self.embodiment_index(tag)

    async def infer(self, state: np.ndarray, goal: np.ndarray, embodiment: np.ndarray) -> PolicyOutput:
        import tritonclient.grpc.aio as triton
        from tritonclient.utils import InferenceServerException

        inputs = []
        for name, array, dtype in (
            (policy_io.INPUT_STATE, state, "FP32"),
            (policy_io.INPUT_GOAL, goal, "FP32"),
            (policy_io.INPUT_EMBODIMENT, embodiment, "INT64"),
        ):
            tensor = triton.InferInput(name, list(array.shape), dtype)
            tensor.set_data_from_numpy(array)
            inputs.append(tensor)
        outputs = [triton.InferRequestedOutput(policy_io.OUTPUT_ACTIONS)]
        with tracer.start_as_current_span("triton.infer", kind=trace.SpanKind.CLIENT) as span:
            span.set_attribute("triton.model", self._model)
            try:
                result = await self._client.infer(
                    self._model, inputs, outputs=outputs, client_timeout=self._timeout, headers=trace_headers()
                )
            except InferenceServerException as exc:
                status = str(exc.status() or "")
                if "DEADLINE" in status.upper():
                    raise DeadlineExceeded(f"Triton did not answer within {self._timeout * 1000:.0f} ms") from None
                raise Unavailable(f"Triton inference failed: {exc.message()}") from None
            version = result.get_response().model_version
            span.set_attribute("triton.model_version", version)
        return PolicyOutput(actions=result.as_numpy(policy_io.OUTPUT_ACTIONS), version=f"{self._model}/{version}")


class OnnxPolicy(Policy):
    """The same ONNX model run in process with onnxruntime (edge use, tests, evaluation)."""

    def __init__(self, onnx_path: str, embodiments: dict[str, int], *, version: str = "local", threads: int = 1):
        self._path = onnx_path
        self._table = dict(embodiments)
        self._version = version
        self._threads = threads
        self._session = None

    async def start(self) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self._threads
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(self._path, sess_options=opts, providers=["CPUExecutionProvider"])

    async def stop(self) -> None:
        self._session = None

    def embodiment_index(self, tag: str) -> int:
        return _lookup(self._table, tag)

    async def infer(self, state: np.ndarray, goal: np.ndarray, embodiment: np.ndarray) -> PolicyOutput:
        (actions,) = self._session.run(
            [policy_io.OUTPUT_ACTIONS],
            {policy_io.INPUT_STATE: state, policy_io.INPUT_GOAL: goal, policy_io.INPUT_EMBODIMENT: embodiment},
        )
        return PolicyOutput(actions=actions, version=self._version)
