"""Generate the Python protocol code from proto/ into libs/core/src.

    python tools/protogen.py            # regenerate in place
    python tools/protogen.py --check    # exit 1 if the committed code is stale

Run with the interpreter of the protoc tool environment (see Makefile: `make proto`),
which pins grpcio-tools 1.62.x: its code runs on protobuf 4.25 through 6.x, so
every service environment can import it whatever protobuf it must pin.
"""

from __future__ import annotations

import argparse
import filecmp
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "libs" / "core" / "src"
GENERATED_ROOT = "robosoul"  # the top-level package protoc writes into


def generate(out: Path) -> list[Path]:
    protos = sorted(p.relative_to(PROTO_DIR) for p in PROTO_DIR.rglob("*.proto"))
    if not protos:
        raise SystemExit(f"no .proto files under {PROTO_DIR}")
    cmd = [
        sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}",
        f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}",
        *[str(p) for p in protos],
    ]
    subprocess.run(cmd, check=True)
    # Regular packages (not namespace packages), so tools and type checkers agree.
    for pkg in {(out / p).parent for p in protos}:
        while pkg != out:
            (pkg / "__init__.py").touch()
            pkg = pkg.parent
    return sorted((out / GENERATED_ROOT).rglob("*.py*"))


def differences(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    out = [f"only in {cmp.left}: {n}" for n in cmp.left_only]
    out += [f"only in {cmp.right}: {n}" for n in cmp.right_only]
    out += [f"differs: {Path(cmp.left, n)}" for n in cmp.diff_files]
    for name in cmp.subdirs:
        out += differences(Path(a, name), Path(b, name))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if regeneration would change anything")
    args = parser.parse_args()
    if not args.check:
        generate(OUT_DIR)
        print(f"generated {OUT_DIR / GENERATED_ROOT}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        diffs = differences(OUT_DIR / GENERATED_ROOT, Path(tmp) / GENERATED_ROOT)
    if diffs:
        print("generated protocol code is stale; run `make proto`:\n  " + "\n  ".join(diffs))
        return 1
    print("generated protocol code is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
