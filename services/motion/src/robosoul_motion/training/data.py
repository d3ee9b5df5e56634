"""Demonstrations for imitation: reading and checking .npz files against the policy contract.

A file names its bodies by an `embodiment_tags` array (robosoul_simulation.demos
writes one body per file this way, or several) or, in the single-body layout of
synthetic.py, by a scalar `tag`:

    state [N, 24] float32, goal [N, 24] float32, embodiment [N, 1] int64,
    actions [N, 16, 8] float32, and either tag (str) or embodiment_tags [E] (str);
    optional: episode [N] (whole episodes go to one side of the validation split),
    kinematics [E, KIN_DIM] float32 (each body's chain; without it the policy's
    end-effector features are zero for that body)

Files are merged into one `Demos` whose `embodiment` column indexes `tags`;
several files of the same body are pooled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robosoul.v1 import session_pb2
from robosoul_core import policy_io as io
from robosoul_core.errors import InvalidArgument

SKILL_NAMES = {
    io.SKILL_SLOTS[session_pb2.SKILL_REACH]: "reach",  # FOLLOW_PATH shares REACH's slot
    io.SKILL_SLOTS[session_pb2.SKILL_MOVE_TO_POSE]: "move_to_pose",
    io.SKILL_SLOTS[session_pb2.SKILL_GRASP_AND_PLACE]: "grasp_and_place",
}


class DemosError(InvalidArgument):
    """A demonstrations file is missing or does not fit the policy contract."""


@dataclass
class Demos:
    state: np.ndarray
    goal: np.ndarray
    embodiment: np.ndarray  # [N, 1] int64, index into tags
    actions: np.ndarray
    episode: np.ndarray  # [N] int64, unique across files
    tags: list[str]
    sources: list[str] = field(default_factory=list)
    # [E, KIN_DIM] each body's kinematic chain (policy_io.pack_kinematics); zeros: unknown.
    kinematics: np.ndarray = field(default_factory=lambda: np.zeros((0, io.KIN_DIM), np.float32))

    def __len__(self) -> int:
        return len(self.state)

    def rows_of(self, index: int) -> np.ndarray:
        return np.flatnonzero(self.embodiment[:, 0] == index)

    def describe(self, index: int) -> dict:
        """What the demos say about one body: joints, skills, sample and episode counts."""
        rows = self.rows_of(index)
        mask = self.state[rows, 2 * io.MAX_DOF :]
        slots = np.flatnonzero(self.goal[rows][:, io.GOAL_SKILL].max(axis=0) > 0.5) + io.GOAL_SKILL.start
        return {
            "dof": int(mask.sum(axis=1).max()) if len(rows) else 0,
            "skills": [SKILL_NAMES.get(int(s), f"slot{int(s)}") for s in slots],
            "samples": int(len(rows)),
            "episodes": int(len(np.unique(self.episode[rows]))),
        }


def expand(paths: Path | str | Iterable[Path | str]) -> list[Path]:
    """Files named, and the *.npz files of directories named (sorted), in order."""
    if isinstance(paths, str | Path):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.npz"))
            if not found:
                raise DemosError(f"{p}: no .npz demonstrations in this directory")
            out.extend(found)
        else:
            out.append(p)
    if not out:
        raise DemosError("no demonstrations given")
    return out


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DemosError(
            f"{path}: demonstrations file not found (make them with python -m robosoul_simulation.demos)"
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DemosError(f"{path}: not a readable .npz file ({exc})") from None


def _check_arrays(path: Path, data: dict[str, np.ndarray]) -> int:
    try:
        n = io.check_arrays(data)
    except ValueError as exc:
        raise DemosError(f"{path}: {exc}") from None
    if n < 2:
        raise DemosError(f"{path}: {n} samples; training needs at least 2")
    mask = data[io.INPUT_STATE][:, 2 * io.MAX_DOF :]
    if not np.isin(mask, (0.0, 1.0)).all() or (mask.sum(axis=1) < 1).any():
        raise DemosError(f"{path}: the state's mask part (columns {2 * io.MAX_DOF}..{io.STATE_DIM - 1}) must be 0/1 with a joint")
    skills = data[io.INPUT_GOAL][:, io.GOAL_SKILL]
    if not (np.isin(skills, (0.0, 1.0)).all() and (skills.sum(axis=1) == 1).all()):
        raise DemosError(f"{path}: every goal needs exactly one skill flag in columns {io.GOAL_SKILL.start}..{io.GOAL_SKILL.stop - 1}")
    return n


def _kinematics(path: Path, data: dict[str, np.ndarray], count: int) -> np.ndarray:
    """The file's [count, KIN_DIM] chains (zeros where the file has none)."""
    kin = data.get("kinematics")
    if kin is None:
        return np.zeros((count, io.KIN_DIM), np.float32)
    if kin.shape != (count, io.KIN_DIM) or kin.dtype != np.float32:
        raise DemosError(f"{path}: 'kinematics' is {kin.dtype}{list(kin.shape)}, expected float32{[count, io.KIN_DIM]}")
    if not np.isfinite(kin).all():
        raise DemosError(f"{path}: 'kinematics' holds NaN or infinite values")
    return kin


def _row_tags(path: Path, data: dict[str, np.ndarray], n: int) -> tuple[list[str], np.ndarray]:
    """The file's tags and each row's index into them."""
    if "embodiment_tags" in data:
        tags = [str(t) for t in np.atleast_1d(data["embodiment_tags"])]
        e = data[io.INPUT_EMBODIMENT][:, 0]
        if not tags or e.min() < 0 or e.max() >= len(tags):
            raise DemosError(f"{path}: embodiment indices {e.min()}..{e.max()} outside the {len(tags)} tags {tags}")
        return tags, e
    if "tag" in data and data["tag"].ndim == 0:
        tag = str(data["tag"])
        e = data[io.INPUT_EMBODIMENT][:, 0]
        if (e != e[0]).any():
            raise DemosError(f"{path}: one body's file ({tag!r}) but its 'embodiment' column holds several values")
        return [tag], np.zeros(n, dtype=np.int64)
    raise DemosError(f"{path}: no 'tag' (one body) or 'embodiment_tags' array naming the embodiment")


def load_demos(paths: Path | str | Sequence[Path | str]) -> Demos:
    """Read, check and merge demonstrations; the tags are numbered in order of appearance."""
    files = expand(paths)
    tags: list[str] = []
    kinematics: list[np.ndarray] = []
    parts: list[tuple[np.ndarray, ...]] = []
    episode_base = 0
    for path in files:
        data = _read(path)
        n = _check_arrays(path, data)
        file_tags, local = _row_tags(path, data, n)
        for t in file_tags:
            if not t or not t.isprintable() or len(t) > 128:
                raise DemosError(f"{path}: embodiment tag {t!r} must be 1..128 printable characters")
        kin = _kinematics(path, data, len(file_tags))
        for t, k in zip(file_tags, kin, strict=True):
            if t not in tags:
                tags.append(t)
                kinematics.append(k)
            elif k[io.KIN_KNOWN] and not np.array_equal(k, kinematics[tags.index(t)]):
                if kinematics[tags.index(t)][io.KIN_KNOWN]:
                    raise DemosError(f"{path}: body {t!r} has a different kinematic chain than in an earlier file")
                kinematics[tags.index(t)] = k
        index = np.array([tags.index(t) for t in file_tags])
        episode = data["episode"].astype(np.int64) if "episode" in data and data["episode"].shape == (n,) else np.arange(n)
        _, episode = np.unique(episode, return_inverse=True)
        parts.append(
            (
                data[io.INPUT_STATE],
                data[io.INPUT_GOAL],
                index[local][:, None].astype(np.int64),
                data[io.OUTPUT_ACTIONS],
                episode.reshape(-1) + episode_base,
            )
        )
        episode_base += int(episode.max()) + 1
    cols = [np.concatenate(c) for c in zip(*parts, strict=True)]
    return Demos(*cols, tags=tags, sources=[p.name for p in files], kinematics=np.stack(kinematics))
