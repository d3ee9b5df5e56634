"""Triton's OpenTelemetry tracing joins the caller's W3C trace (bundled Triton 2.51).

A server of its own with `--trace-config mode=opentelemetry`, rate 1, exporting
to an in-test OTLP/HTTP receiver. Requests go one at a time: in this Triton
version traced requests that meet in one dynamic batch crash the server (see
`robosoul_motion.triton_local.triton_command`), so the serving tests run
without tracing.
"""

from __future__ import annotations

import secrets

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from robosoul_devstack.trace_sink import SpanRecord
from robosoul_motion.model_repo import DEFAULT_MODEL_NAME, publish

MODEL = DEFAULT_MODEL_NAME


@pytest.fixture(scope="module")
def traced_triton(tmp_path_factory, policy_v1, start_triton, otlp_receiver):
    repo = tmp_path_factory.mktemp("repo")
    publish(repo, policy_v1)
    return start_triton(repo, trace_url=f"{otlp_receiver.endpoint}/v1/traces", trace_rate=1).url


def _trace(spans: list[SpanRecord], trace_id: str) -> dict[str, SpanRecord]:
    return {s.name: s for s in spans if s.trace_id == trace_id}


def _infer(url, inputs, **kwargs) -> None:
    with grpcclient.InferenceServerClient(url) as client:
        client.infer(MODEL, inputs, client_timeout=30, **kwargs)


def test_triton_joins_the_callers_trace(traced_triton, otlp_receiver, make_batch, infer_inputs):
    trace_id, parent_span_id = secrets.token_hex(16), secrets.token_hex(8)
    rng = np.random.default_rng(20)
    _infer(traced_triton, infer_inputs(grpcclient, make_batch(rng, 1)), request_id="untraced")
    _infer(
        traced_triton,
        infer_inputs(grpcclient, make_batch(rng, 1)),
        headers={"traceparent": f"00-{trace_id}-{parent_span_id}-01"},
    )

    def untraced_trace_id(spans) -> str | None:
        ids = [s.trace_id for s in spans if s.attributes.get("triton.request_id") == "untraced"]
        return ids[0] if ids else None

    spans = otlp_receiver.wait_for(
        lambda spans: len(_trace(spans, trace_id)) == 3 and len(_trace(spans, untraced_trace_id(spans))) == 3
    )
    ours = _trace(spans, trace_id)
    assert ours["InferRequest"].parent_span_id == parent_span_id  # a child of the caller's span
    assert ours[MODEL].parent_span_id == ours["InferRequest"].span_id
    assert ours["compute"].parent_span_id == ours[MODEL].span_id
    assert str(ours[MODEL].attributes["triton.model_version"]) == "1"
    assert ours[MODEL].service == "triton"

    # A request without a traceparent (sampled by rate=1) starts a trace of its own.
    other = untraced_trace_id(spans)
    assert other != trace_id and _trace(spans, other)["InferRequest"].parent_span_id == ""
    assert otlp_receiver.content_types == {"application/json"}  # Triton 2.51 exports OTLP/HTTP as JSON
