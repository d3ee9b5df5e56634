"""Many simulations at once, across worker processes.

Two shapes of parallelism, both on 'forkserver' processes (a clean, single-threaded
parent for every worker; never a fork of a process with threads or open sockets):

- `map_jobs(fn, jobs, workers=K)`: independent jobs (a batch of episodes each) spread
  over K processes; results come back in job order. Demonstrations and evaluation
  use it: each job steps a batch of MjData in its process and runs the expert or the
  policy there too, so nothing crosses a process boundary per step. With K = 1 the
  jobs run in this process; since every episode is seeded on its own, the results
  are identical either way.
- `VecSim`: N environments of one body stepped in lockstep, split across K workers,
  joint targets in and joint states out through shared memory (one small pipe
  message per worker per step). For a caller that needs every state every step (a
  policy served elsewhere, a benchmark).

    >>> with VecSim(body_source("rs-arm4"), envs=128, workers=2) as vec:
    ...     vec.reset(np.tile(arm.rest, (128, 1)))
    ...     q, qd = vec.step(targets)        # one 20 ms control period for all 128 ([128, n])
    ...     q, qd = vec.step(chunks[:, :8])  # 8 periods of each arm's chunk, one round trip
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import mujoco
import numpy as np

from robosoul_core.errors import Internal, InvalidArgument
from robosoul_simulation.bodies import Arm, BodySource

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int, int], None]
PRELOAD = ["numpy", "mujoco", "robosoul_simulation.rollout"]


def default_workers() -> int:
    """One worker per CPU this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def context() -> mp.context.BaseContext:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _key(source: BodySource) -> tuple:
    return (source.tag, source.mjcf, source.ee_site, source.joint_order, tuple(sorted(source.assets.items())))


@functools.lru_cache(maxsize=8)
def _load(key: tuple) -> Arm:
    tag, mjcf, ee_site, joint_order, assets = key
    return BodySource(tag=tag, mjcf=mjcf, assets=dict(assets), ee_site=ee_site, joint_order=joint_order).load()


def cached_arm(source: BodySource) -> Arm:
    """The Arm of `source`, loaded once per process (workers reuse it across jobs)."""
    return _load(_key(source))


def map_jobs(
    fn: Callable[[T], R],
    jobs: Sequence[T],
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    weights: Sequence[int] | None = None,
) -> list[R]:
    """`[fn(job) for job in jobs]`, on `workers` processes (default: one per CPU).

    `fn` must be a module-level function and jobs picklable. `progress(done, total)`
    is called as jobs finish, counting each job as its weight (default 1).
    """
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise InvalidArgument(f"workers must be >= 1, got {workers}")
    weights = list(weights) if weights is not None else [1] * len(jobs)
    total, done = sum(weights), 0
    if workers == 1 or len(jobs) <= 1:
        out = []
        for job, w in zip(jobs, weights, strict=True):
            out.append(fn(job))
            done += w
            if progress is not None:
                progress(done, total)
        return out
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context()) as pool:
        futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        results: list[Any] = [None] * len(jobs)
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            done += weights[i]
            if progress is not None:
                progress(done, total)
    return results


# -- lockstep vectorised environments ----------------------------------------------------


def _worker(
    conn: Connection, source: BodySource, lo: int, hi: int, shm_names: dict[str, str], shape: tuple[int, int, int]
) -> None:
    arm = cached_arm(source)
    m = arm.model
    # Attaching registers the segment with the resource tracker this process shares
    # with its parent (forkserver); the parent unlinks it, once, on close.
    buffers = {name: shared_memory.SharedMemory(name=shm) for name, shm in shm_names.items()}
    arrays = {name: np.ndarray(shape, dtype=np.float64, buffer=b.buf) for name, b in buffers.items()}
    targets, q_out, qd_out = arrays["targets"], arrays["q"], arrays["qd"]
    datas = [mujoco.MjData(m) for _ in range(hi - lo)]
    substeps = int(round(0.02 / m.opt.timestep))
    qpos, dof, act = arm.qpos_adr, arm.dof_adr, arm.actuator_ids
    try:
        while True:
            cmd, arg = conn.recv()
            if cmd == "step":
                for k, d in enumerate(datas):
                    i = lo + k
                    for j in range(int(arg)):
                        d.ctrl[act] = targets[i, j]
                        mujoco.mj_step(m, d, substeps)
                        q_out[i, j] = d.qpos[qpos]
                        qd_out[i, j] = d.qvel[dof]
            elif cmd == "reset":
                for k, d in enumerate(datas):
                    i = lo + k
                    mujoco.mj_resetData(m, d)
                    d.qpos[qpos] = targets[i, 0]
                    d.ctrl[act] = targets[i, 0]
                    mujoco.mj_forward(m, d)
                    q_out[i, 0] = d.qpos[qpos]
                    qd_out[i, 0] = 0.0
            elif cmd == "close":
                break
            conn.send(("ok", len(datas)))
    finally:
        for b in buffers.values():
            b.close()
        conn.close()


class VecSim:
    """`envs` copies of one body stepped in lockstep by `workers` processes."""

    def __init__(self, source: BodySource, envs: int, workers: int | None = None, *, max_periods: int = 16):
        if envs < 1:
            raise InvalidArgument(f"envs must be >= 1, got {envs}")
        if max_periods < 1:
            raise InvalidArgument(f"max_periods must be >= 1, got {max_periods}")
        workers = min(default_workers() if workers is None else workers, envs)
        arm = cached_arm(source)
        self.envs, self.n, self.max_periods = envs, arm.n, max_periods
        shape = (envs, max_periods, arm.n)
        nbytes = int(np.prod(shape)) * 8
        self._shm = {name: shared_memory.SharedMemory(create=True, size=nbytes) for name in ("targets", "q", "qd")}
        self._arrays = {name: np.ndarray(shape, dtype=np.float64, buffer=s.buf) for name, s in self._shm.items()}
        ctx = context()
        bounds = np.linspace(0, envs, workers + 1).astype(int)
        self._procs, self._conns = [], []
        names = {k: s.name for k, s in self._shm.items()}
        for w in range(workers):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_worker, args=(child, source, int(bounds[w]), int(bounds[w + 1]), names, shape), daemon=True)
            p.start()
            child.close()
            self._procs.append(p)
            self._conns.append(parent)

    @property
    def workers(self) -> int:
        return len(self._procs)

    def _call(self, cmd: str, arg: Any = None) -> None:
        for c in self._conns:
            c.send((cmd, arg))
        for c, p in zip(self._conns, self._procs, strict=True):
            try:
                c.recv()
            except EOFError:
                raise Internal(f"simulation worker {p.pid} exited with code {p.exitcode}") from None

    def reset(self, q: np.ndarray) -> None:
        """Every environment at rest at its row of q [envs, n]."""
        self._arrays["targets"][:, 0] = q
        self._call("reset")

    def step(self, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run control periods: targets [envs, n] for one, or a chunk [envs, k, n] for k in a row.

        Returns the joint positions and velocities after each period, shaped like
        `targets`. A chunk costs one round trip to the workers, however long.
        """
        targets = np.asarray(targets, dtype=np.float64)
        chunk = targets.ndim == 3
        k = targets.shape[1] if chunk else 1
        if targets.shape[0] != self.envs or targets.shape[-1] != self.n or not 1 <= k <= self.max_periods:
            raise InvalidArgument(f"targets must be [{self.envs}, {self.n}] or [{self.envs}, 1..{self.max_periods}, {self.n}], got {list(targets.shape)}")
        self._arrays["targets"][:, :k] = targets if chunk else targets[:, None]
        self._call("step", k)
        q, qd = self._arrays["q"][:, :k].copy(), self._arrays["qd"][:, :k].copy()
        return (q, qd) if chunk else (q[:, 0], qd[:, 0])

    def close(self) -> None:
        if not self._procs:
            return
        for c in self._conns:
            try:
                c.send(("close", None))
            except (BrokenPipeError, OSError):
                pass
        for p in self._procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join()
        for c in self._conns:
            c.close()
        for s in self._shm.values():
            s.close()
            s.unlink()
        self._procs, self._conns = [], []

    def __enter__(self) -> VecSim:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
