"""Triton python-backend model that serves the motion policy (ONNX) on CPU.

`model_repo.publish` copies this file into every version directory next to
`policy.onnx` and `policy.json`. It runs inside Triton's python-backend stub,
an embedded interpreter that sees only the site-packages of the `python3`
first on the server's PATH: it must import nothing from the robosoul packages.
The tensor names, dtypes and shapes come from the model configuration, which
`model_repo` writes from `robosoul_core.policy_io`.

One `execute` call receives every request of a dynamic batch; they are
concatenated into a single onnxruntime run and the actions split back per
request. A request that fails validation gets its own error response and
leaves the rest of the batch alone.
"""

from __future__ import annotations

import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils

_ORT_THREAD_PARAMS = ("ort_intra_op_threads", "ort_inter_op_threads")
# robosoul_core.policy_io.INPUT_EMBODIMENT, which cannot be imported here (a test keeps them equal).
EMBODIMENT_INPUT = "embodiment"


def _invalid(message: str):
    return pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(message, pb_utils.TritonError.INVALID_ARG))


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        version_dir = os.path.join(args["model_repository"], args["model_version"])

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(params.get(_ORT_THREAD_PARAMS[0]) or 1)
        options.inter_op_num_threads = int(params.get(_ORT_THREAD_PARAMS[1]) or 1)
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            os.path.join(version_dir, "policy.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )

        # The version's own sidecar is authoritative for the weights in this
        # directory; the config parameter is what clients read to route bodies.
        table = params.get("embodiments") or "{}"
        sidecar = os.path.join(version_dir, "policy.json")
        if os.path.exists(sidecar):
            with open(sidecar, encoding="utf-8") as f:
                table = json.dumps(json.load(f).get("embodiments", {}))
        self.embodiment_ids = np.array(sorted(set(json.loads(table).values())), dtype=np.int64)

        # (name, numpy dtype, per-item shape) for each input, from the config.
        self.inputs = [
            (i["name"], pb_utils.triton_string_to_numpy(i["data_type"]), tuple(int(d) for d in i["dims"]))
            for i in config["input"]
        ]
        self.outputs = [(o["name"], pb_utils.triton_string_to_numpy(o["data_type"])) for o in config["output"]]
        onnx_inputs = {i.name for i in self.session.get_inputs()}
        missing = [name for name, _, _ in self.inputs if name not in onnx_inputs]
        if missing:
            raise pb_utils.TritonModelException(f"policy.onnx lacks the configured inputs {missing}")

    def _read(self, request):
        """The request's input arrays in config order, or an error message."""
        arrays, batch = [], None
        for name, dtype, dims in self.inputs:
            tensor = pb_utils.get_input_tensor_by_name(request, name)
            if tensor is None:
                return None, f"missing input '{name}'"
            a = tensor.as_numpy()
            if a.dtype != dtype or a.ndim != len(dims) + 1 or tuple(a.shape[1:]) != dims:
                return (
                    None,
                    f"input '{name}' must be {np.dtype(dtype).name}[B, {', '.join(map(str, dims))}], got {a.dtype.name}{list(a.shape)}",
                )
            if batch is None:
                batch = a.shape[0]
            elif a.shape[0] != batch:
                return None, f"input '{name}' has batch {a.shape[0]}, other inputs {batch}"
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                return None, f"input '{name}' contains NaN or infinity"
            if name == EMBODIMENT_INPUT and not np.isin(a, self.embodiment_ids).all():
                unknown = sorted(set(a.ravel().tolist()) - set(self.embodiment_ids.tolist()))
                return None, f"embodiment index {unknown} is not in this policy's table {self.embodiment_ids.tolist()}"
            arrays.append(a)
        if not batch:
            return None, "empty batch"
        return arrays, None

    def execute(self, requests):
        responses = [None] * len(requests)
        good, columns = [], [[] for _ in self.inputs]
        for i, request in enumerate(requests):
            arrays, error = self._read(request)
            if error is not None:
                responses[i] = _invalid(error)
                continue
            good.append((i, arrays[0].shape[0]))
            for column, a in zip(columns, arrays, strict=True):
                column.append(a)
        if not good:
            return responses

        feed = {
            name: np.concatenate(column) if len(column) > 1 else column[0]
            for (name, _, _), column in zip(self.inputs, columns, strict=True)
        }
        try:
            results = self.session.run([name for name, _ in self.outputs], feed)
        except Exception as exc:  # one failed run answers each of its requests, never the whole server
            error = pb_utils.TritonError(f"policy inference failed: {exc}", pb_utils.TritonError.INTERNAL)
            for i, _ in good:
                responses[i] = pb_utils.InferenceResponse(output_tensors=[], error=error)
            return responses

        offset = 0
        for i, n in good:
            responses[i] = pb_utils.InferenceResponse(
                output_tensors=[
                    pb_utils.Tensor(name, np.ascontiguousarray(r[offset : offset + n], dtype=dtype))
                    for (name, dtype), r in zip(self.outputs, results, strict=True)
                ]
            )
            offset += n
        return responses

    def finalize(self):
        self.session = None
