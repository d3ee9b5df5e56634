"""The policy served by a real Triton (the server bundled in nvidia-pytriton).

One server per module (start ≈ 2–5 s) in explicit model-control mode, without
tracing (see test_triton_tracing.py for why). Tests run in file order; the
version-switch test updates `Served.current`, so the ones after it compare
against the new version.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import grpc
import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.grpc.aio as aioclient
from tritonclient.utils import InferenceServerException

from robosoul_core import policy_io as io
from robosoul_motion.model_repo import DEFAULT_MAX_QUEUE_DELAY_US, DEFAULT_MODEL_NAME, MODEL_FILE, publish

MODEL = DEFAULT_MODEL_NAME


@dataclass
class Served:
    url: str
    repo: Path
    current: Path  # the ONNX file of the version Triton serves now


@cache
def _session(onnx_path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])


def expected(onnx_path: Path, batch: dict[str, np.ndarray]) -> np.ndarray:
    return _session(onnx_path).run([io.OUTPUT_ACTIONS], batch)[0]


@pytest.fixture(scope="module")
def triton(tmp_path_factory, policy_v1, start_triton):
    repo = tmp_path_factory.mktemp("repo")
    assert publish(repo, policy_v1) == 1
    return Served(url=start_triton(repo).url, repo=repo, current=policy_v1)


def test_results_equal_onnxruntime(triton, make_batch, infer_inputs):
    rng = np.random.default_rng(10)
    with grpcclient.InferenceServerClient(triton.url) as client:
        for n in (1, 3, 17):
            batch = make_batch(rng, n)
            result = client.infer(MODEL, infer_inputs(grpcclient, batch), client_timeout=30)
            actions = result.as_numpy(io.OUTPUT_ACTIONS)
            assert actions.dtype == np.float32 and actions.shape == (n, io.HORIZON, io.MAX_DOF)
            np.testing.assert_allclose(actions, expected(triton.current, batch), rtol=1e-5, atol=1e-6)


def test_model_config_carries_the_embodiment_table(triton, embodiments):
    import json

    with grpcclient.InferenceServerClient(triton.url) as client:
        config = client.get_model_config(MODEL, as_json=True)["config"]
    assert json.loads(config["parameters"]["embodiments"]["string_value"]) == embodiments
    assert "dynamic_batching" in config  # (a zero queue delay is left out of the JSON)
    assert int(config["dynamic_batching"].get("max_queue_delay_microseconds", 0)) == DEFAULT_MAX_QUEUE_DELAY_US


async def test_a_body_missing_from_a_fresh_read_is_looked_up_again_before_it_is_refused(triton, embodiments):
    # Onboarding publishes a body, then switches the robot to it. A table read just before the
    # publish must not refuse the robot's first request: the miss waits for the next read.
    from robosoul_core.errors import FailedPrecondition
    from robosoul_motion.policy import TritonPolicy

    class Counting(TritonPolicy):
        reads = 0

        async def refresh(self):
            self.reads += 1
            await super().refresh()

    policy = Counting(triton.url, MODEL, timeout_s=5.0)
    await policy.start()
    try:
        tag = next(iter(embodiments))
        del policy._table[tag]  # as read before the publish, a moment ago
        reads = policy.reads
        assert await policy.resolve(tag) == embodiments[tag]
        assert policy.reads == reads + 1
        # A body nobody published: refused, and concurrent misses share their reads.
        reads = policy.reads
        results = await asyncio.gather(*(policy.resolve("never-onboarded") for _ in range(6)), return_exceptions=True)
        assert all(isinstance(r, FailedPrecondition) and "onboard the robot first" in str(r) for r in results), results
        assert 1 <= policy.reads - reads <= 2
    finally:
        await policy.stop()


async def _counts(client, at_least: int = 0) -> tuple[int, int]:
    """(inference_count, execution_count) of the served version, once inference_count >= `at_least`.

    Triton updates the statistics just after it sends the responses, so a read
    right after the last answer can miss the last executions.
    """
    deadline = time.monotonic() + 30  # a hang guard
    while True:
        (stats,) = (await client.get_inference_statistics(MODEL, as_json=True))["model_stats"]
        counts = int(stats.get("inference_count", 0)), int(stats.get("execution_count", 0))
        if counts[0] >= at_least or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.01)


async def test_64_concurrent_requests_are_batched(triton, make_batch, infer_inputs):
    rng = np.random.default_rng(11)
    batches = [make_batch(rng, 1) for _ in range(64)]
    async with aioclient.InferenceServerClient(triton.url) as client:
        inferences_before, executions_before = await _counts(client)
        results = await asyncio.gather(*(client.infer(MODEL, infer_inputs(aioclient, b), client_timeout=60) for b in batches))
        inferences, executions = await _counts(client, at_least=inferences_before + 64)
    for batch, result in zip(batches, results, strict=True):
        # Each answer is its own request's: the split of the batched run is right.
        np.testing.assert_allclose(result.as_numpy(io.OUTPUT_ACTIONS), expected(triton.current, batch), rtol=1e-5, atol=1e-6)
    assert inferences - inferences_before == 64
    assert executions - executions_before < 64, "no two requests shared an execution"
    print(f"64 requests in {executions - executions_before} executions")


def _expect_invalid(client, inputs, fragment: str) -> None:
    with pytest.raises(InferenceServerException) as err:
        client.infer(MODEL, inputs, client_timeout=30)
    assert err.value.status() == str(grpc.StatusCode.INVALID_ARGUMENT), err.value
    assert fragment in err.value.message()


def test_bad_requests_get_errors_and_the_next_good_one_works(triton, make_batch, infer_inputs):
    rng = np.random.default_rng(12)
    with grpcclient.InferenceServerClient(triton.url) as client:
        wrong_width = make_batch(rng, 2)
        wrong_width[io.INPUT_STATE] = wrong_width[io.INPUT_STATE][:, :-1]
        _expect_invalid(
            client, infer_inputs(grpcclient, wrong_width), "unexpected shape"
        )  # Triton checks dims against the config

        unknown_body = make_batch(rng, 1, embodiment=7)
        _expect_invalid(
            client, infer_inputs(grpcclient, unknown_body), "embodiment index [7]"
        )  # model.py checks the version's table

        not_finite = make_batch(rng, 1)
        not_finite[io.INPUT_GOAL][0, 0] = np.nan
        _expect_invalid(client, infer_inputs(grpcclient, not_finite), "NaN")

        good = make_batch(rng, 2)
        result = client.infer(MODEL, infer_inputs(grpcclient, good), client_timeout=30)
        np.testing.assert_allclose(result.as_numpy(io.OUTPUT_ACTIONS), expected(triton.current, good), rtol=1e-5, atol=1e-6)


async def test_a_bad_request_in_a_batch_fails_alone(triton, make_batch, infer_inputs):
    rng = np.random.default_rng(13)
    batches = [make_batch(rng, 1) for _ in range(31)]
    bad = make_batch(rng, 1, embodiment=5)
    async with aioclient.InferenceServerClient(triton.url) as client:
        inferences_before, executions_before = await _counts(client)
        calls = [client.infer(MODEL, infer_inputs(aioclient, b), client_timeout=60) for b in batches]
        calls.insert(15, client.infer(MODEL, infer_inputs(aioclient, bad), client_timeout=60))
        results = await asyncio.gather(*calls, return_exceptions=True)
        _, executions = await _counts(client, at_least=inferences_before + len(batches))
    assert executions - executions_before < len(calls)  # the requests were batched
    failed = results.pop(15)
    assert isinstance(failed, InferenceServerException) and "embodiment index [5]" in failed.message()
    for batch, result in zip(batches, results, strict=True):
        assert not isinstance(result, BaseException), result
        np.testing.assert_allclose(result.as_numpy(io.OUTPUT_ACTIONS), expected(triton.current, batch), rtol=1e-5, atol=1e-6)


async def test_new_version_goes_live_without_restart(triton, make_batch, infer_inputs, policy_v2):
    rng = np.random.default_rng(15)
    probe = make_batch(rng, 4)
    v1, v2 = expected(triton.current, probe), expected(policy_v2, probe)
    assert not np.allclose(v1, v2)

    # A publish in progress (a staging directory) must be ignored by Triton.
    model_dir = triton.repo / MODEL
    (model_dir / ".staging-9-inprogress").mkdir()
    (model_dir / ".staging-9-inprogress" / "policy.onnx").write_bytes(b"half written")
    assert publish(triton.repo, policy_v2) == 2
    assert (model_dir / "2" / "model.py").read_bytes() == MODEL_FILE.read_bytes()

    answers: list[np.ndarray] = []
    errors: list[BaseException] = []
    flowing, loading, loaded = asyncio.Event(), asyncio.Event(), asyncio.Event()
    answered_while_loading = 0

    async def keep_asking(client):
        # In-flight traffic across the switch: each answer must be v1's or v2's, never an error.
        nonlocal answered_while_loading
        after_load = 0
        while after_load < 20:
            try:
                result = await client.infer(MODEL, infer_inputs(aioclient, probe), client_timeout=30)
                answers.append(result.as_numpy(io.OUTPUT_ACTIONS))
                answered_while_loading += loading.is_set() and not loaded.is_set()
                if len(answers) >= 20:
                    flowing.set()
            except InferenceServerException as exc:
                errors.append(exc)
            after_load += loaded.is_set()

    async with aioclient.InferenceServerClient(triton.url) as client:
        askers = [asyncio.create_task(keep_asking(client)) for _ in range(4)]
        await asyncio.wait_for(flowing.wait(), timeout=60)  # traffic is flowing before the switch
        loading.set()
        await client.load_model(MODEL)
        loaded.set()
        await asyncio.gather(*askers)
        result = await client.infer(MODEL, infer_inputs(aioclient, probe), client_timeout=30)
        assert await client.is_model_ready(MODEL, "2")
        assert not await client.is_model_ready(MODEL, "1")

    assert not errors, errors[:3]
    assert answered_while_loading > 0  # the server kept answering while version 2 loaded
    print(f"{len(answers)} answers, {answered_while_loading} while loading")
    np.testing.assert_allclose(result.as_numpy(io.OUTPUT_ACTIONS), v2, rtol=1e-5, atol=1e-6)
    kinds = ["v1" if np.allclose(a, v1, atol=1e-5) else "v2" if np.allclose(a, v2, atol=1e-5) else "?" for a in answers]
    assert "?" not in kinds
    assert kinds[0] == "v1" and kinds[-1] == "v2"
    triton.current = policy_v2


def test_still_serves_after_the_switch(triton, make_batch, infer_inputs):
    rng = np.random.default_rng(16)
    batch = make_batch(rng, 5)
    with grpcclient.InferenceServerClient(triton.url) as client:
        result = client.infer(MODEL, infer_inputs(grpcclient, batch), client_timeout=30)
    np.testing.assert_allclose(result.as_numpy(io.OUTPUT_ACTIONS), expected(triton.current, batch), rtol=1e-5, atol=1e-6)
