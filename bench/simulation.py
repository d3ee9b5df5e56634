"""Simulation throughput: the parallel simulation service vs raw MuJoCo stepping.

    python bench/simulation.py [--body rs-arm4] [--envs 64] [--seconds 2] [--rounds 3]

Same model and the same workload throughout: `envs` arms from random start poses
chasing joint targets that change every 20 ms control period.

- Raw: `mj_step` in a tight loop over those MjData in one process
  (`mj_step(m, d, 10)` per arm and period), and the same loop in two processes at
  once (what two cores of this machine give).
- Service: `VecSim`, `envs` environments per worker stepped in lockstep, targets in
  and joint states out through shared memory, one pipe message per worker per
  8-period chunk (a robot executes 8 steps of each action chunk), 1 and 2 workers.
- The episode engine demonstrations and evaluation use (expert in the loop,
  randomised robots), 1 and 2 workers: how much of its time is physics.

Configurations are measured in interleaved rounds and the best round counts (the
machine may be shared). Prints a markdown table in physics steps per second;
"per core vs raw" divides by the processes used and by the raw single-process rate.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time

import mujoco
import numpy as np

from robosoul_simulation import parallel
from robosoul_simulation.bodies import body_source
from robosoul_simulation.demos import DemoConfig, collect_many
from robosoul_simulation.parallel import VecSim

CHUNK = 8


def _targets(arm, starts: np.ndarray, period: int) -> np.ndarray:
    return np.clip(starts + 0.3 * np.sin(0.05 * period + np.arange(arm.n)), arm.lower, arm.upper)


def raw(tag: str, seconds: float, envs: int, out=None) -> float:
    """mj_step in a tight loop in this process: the same environments and targets as the service's."""
    arm = parallel.cached_arm(body_source(tag))
    m = arm.model
    rng = np.random.default_rng(0)
    starts = np.array([arm.sample_start(rng) for _ in range(envs)])
    datas = [mujoco.MjData(m) for _ in range(envs)]
    for d, q in zip(datas, starts, strict=True):
        d.qpos[arm.qpos_adr] = q
        d.ctrl[arm.actuator_ids] = q
    substeps = int(round(0.02 / m.opt.timestep))
    act = arm.actuator_ids
    periods, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        targets = _targets(arm, starts, periods)
        for i, d in enumerate(datas):
            d.ctrl[act] = targets[i]
            mujoco.mj_step(m, d, substeps)
        periods += 1
    rate = periods * envs * substeps / (time.perf_counter() - t0)
    if out is not None:
        out.put(rate)
    return rate


def raw_processes(tag: str, seconds: float, envs: int, processes: int) -> float:
    ctx = parallel.context()
    q = ctx.Queue()
    procs = [ctx.Process(target=raw, args=(tag, seconds, envs, q)) for _ in range(processes)]
    for p in procs:
        p.start()
    rates = [q.get() for _ in procs]
    for p in procs:
        p.join()
    return float(sum(rates))


def service(tag: str, envs_per_worker: int, workers: int, seconds: float) -> float:
    arm = parallel.cached_arm(body_source(tag))
    envs = envs_per_worker * workers
    substeps = int(round(0.02 / arm.model.opt.timestep))
    rng = np.random.default_rng(0)
    starts = np.array([arm.sample_start(rng) for _ in range(envs)])
    with VecSim(body_source(tag), envs=envs, workers=workers) as vec:
        vec.reset(starts)
        vec.step(_targets(arm, starts, 0))  # warm up
        periods, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            # The platform's pattern: 8 periods of each arm's chunk per round trip.
            vec.step(np.stack([_targets(arm, starts, periods + j) for j in range(CHUNK)], axis=1))
            periods += CHUNK
        elapsed = time.perf_counter() - t0
    return periods * envs * substeps / elapsed


def episodes(tag: str, workers: int, count: int) -> tuple[float, float]:
    config = DemoConfig(episodes=count, batch=max(count // (2 * workers), 1), seed=0, workers=workers)
    t0 = time.perf_counter()
    collect_many([tag], config)
    elapsed = time.perf_counter() - t0
    steps = count * int(round(4.0 / 0.002))
    return steps / elapsed, count / elapsed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--body", default="rs-arm4")
    p.add_argument("--envs", type=int, default=64, help="environments per worker (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=2.0, help="per measurement (default: %(default)s)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds, best counts (default: %(default)s)")
    p.add_argument("--episodes", type=int, default=60, help="episodes for the episode-engine rows (default: %(default)s)")
    args = p.parse_args(argv)
    arm = parallel.cached_arm(body_source(args.body))
    print(f"body {args.body} ({arm.n} joints, timestep {arm.model.opt.timestep} s), {parallel.default_workers()} CPUs, {args.envs} envs per worker", file=sys.stderr)
    raw(args.body, 0.5, args.envs)  # warm up
    # The machine may be shared: every configuration is measured in each of `rounds`
    # interleaved rounds and its best round counts.
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for key, measure in (
            ("raw1", lambda: raw(args.body, args.seconds, args.envs)),
            ("svc1", lambda: service(args.body, args.envs, 1, args.seconds)),
            ("raw2", lambda: raw_processes(args.body, args.seconds, args.envs, 2)),
            ("svc2", lambda: service(args.body, args.envs, 2, args.seconds)),
        ):
            best[key] = max(best.get(key, 0.0), measure())
    raw1, raw2, svc1, svc2 = best["raw1"], best["raw2"], best["svc1"], best["svc2"]
    ep1, eps1 = episodes(args.body, 1, args.episodes)
    ep2, eps2 = episodes(args.body, 2, args.episodes)
    rows = [
        ("raw mj_step loop, 1 process", raw1, 1, raw1),
        ("raw mj_step loop, 2 processes at once", raw2, 2, raw2),
        (f"service VecSim, 1 worker x {args.envs} envs", svc1, 1, raw1),
        (f"service VecSim, 2 workers x {args.envs} envs", svc2, 2, raw2),
        (f"demo episodes (expert, randomised), 1 worker: {eps1:.1f} episodes/s", ep1, 1, raw1),
        (f"demo episodes (expert, randomised), 2 workers: {eps2:.1f} episodes/s", ep2, 2, raw2),
    ]
    print(f"\n| {'what':<64} | {'steps/s':>10} | {'per core vs raw 1 proc':>22} | {'vs raw, same processes':>22} |")
    print(f"|{'-' * 66}|{'-' * 11}:|{'-' * 23}:|{'-' * 23}:|")
    for name, sps, procs, same in rows:
        print(f"| {name:<64} | {sps:>10,.0f} | {sps / procs / raw1:>21.2f}x | {sps / same:>21.2f}x |")
    print(f"\nscaling 1 -> 2 workers: service {svc2 / svc1:.2f}x, raw {raw2 / raw1:.2f}x (the machine's own 2-process scaling)")
    return 0


if __name__ == "__main__":
    mp.set_start_method("forkserver")
    sys.exit(main())
