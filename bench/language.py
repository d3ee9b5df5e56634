"""Language brain: plan accuracy, refusals, empathy and latency per backend on the project's evaluation set.

    python bench/language.py                       # embedded backend (intent matching), then + small model
    python bench/language.py --tools-cases 40      # also the tools backend on llama.cpp (slow on CPU)

Backends run in process (the language service's own code, the model servers as
real processes). The path a vendor sees (SDK -> gateway -> NATS -> language ->
gateway -> SDK) is measured by bench/language_platform.py.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from stats import pct

from robosoul.bus.v1 import control_pb2, language_pb2
from robosoul.v1 import dialogue_pb2, session_pb2
from robosoul_devstack.stack import start_llm_server
from robosoul_language import evalset, intents
from robosoul_language.backends import EmbeddedBackend, ToolsBackend
from robosoul_language.chat import ChatClient
from robosoul_language.llm_server import MODEL, TOOLS_MODEL
from robosoul_language.service import LanguageService
from robosoul_language.skills import Capabilities


def steps_of(plan: session_pb2.Plan) -> list[tuple[str, str, str, str]]:
    return [(s.skill, s.object_id, s.location_id, s.person_id) for s in plan.steps]


def invalid_steps(case: evalset.Case, plan: session_pb2.Plan) -> int:
    """Steps that should never reach motion, judged independently of the service's own check."""
    scene = evalset.SCENES[case.scene]
    ids = {o.object_id for o in scene.objects}
    caps = Capabilities.of(evalset.ROBOTS[case.robot])
    bad = 0
    for s in plan.steps:
        if caps.can(s.skill) or (s.object_id and s.object_id not in ids) or (s.location_id and s.location_id not in ids):
            bad += 1
    return bad


async def run_backend(name: str, backend, cases: list[evalset.Case]) -> dict:
    published: list[tuple[float, control_pb2.RobotCommand]] = []

    async def publish(tenant, robot_id, cmd):
        published.append((time.perf_counter(), cmd))

    robots = {r.robot_id: r for r in evalset.ROBOTS.values()}

    async def get_robot(tenant, robot_id):
        return robots[robot_id]

    service = LanguageService(backend, get_robot=get_robot, publish=publish)
    rows = []
    for i, case in enumerate(cases):
        robot = evalset.ROBOTS[case.robot]
        service.on_scene("bench", robot.robot_id, evalset.SCENES[case.scene])
        utt = dialogue_pb2.UserText(utterance_id=f"u{i}", text=case.text)
        if case.voice:
            utt.emotion.CopyFrom(evalset.voice_emotion(case.emotion))
        req = language_pb2.TurnRequest(tenant="bench", robot_id=robot.robot_id, session_id=f"s{i}", utterance=utt, source="text")
        published.clear()
        started = time.perf_counter()
        result = await service.turn(req)
        total = time.perf_counter() - started
        first_reply = next((t for t, c in published if c.HasField("reply")), None)
        stop_at = next((t for t, c in published if c.HasField("stop")), None)
        got = steps_of(result.plan)
        rows.append({
            "case": case, "got": got, "exact": got == case.expected, "refused": list(result.refused),
            "style_ok": result.style == case.style, "invalid_steps": invalid_steps(case, result.plan),
            "latency": total, "first": (first_reply - started) if first_reply else None,
            "stop": (stop_at - started) if stop_at else None, "by": result.decided_by, "reply": " ".join(result.sentences),
        })
        print(f"\r  {name}: {i + 1}/{len(cases)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return summarise(name, rows)


def summarise(name: str, rows: list[dict]) -> dict:
    invalid = [r for r in rows if r["case"].invalid]
    caught = [r for r in invalid if r["refused"] and r["invalid_steps"] == 0 and r["exact"]]
    per_cat = defaultdict(list)
    for r in rows:
        per_cat[r["case"].category].append(r["exact"])
    lat = [r["latency"] * 1e3 for r in rows if r["case"].category != "stop"]
    first = [r["first"] * 1e3 for r in rows if r["first"] is not None and r["case"].category != "stop"]
    stops = [r["stop"] * 1e3 for r in rows if r["stop"] is not None and r["case"].category == "stop"]
    return {
        "name": name, "n": len(rows), "accuracy": sum(r["exact"] for r in rows) / len(rows),
        "invalid_caught": f"{len(caught)}/{len(invalid)}", "invalid_reaching_motion": sum(r["invalid_steps"] for r in rows),
        "style": sum(r["style_ok"] for r in rows) / len(rows),
        "p50": pct(lat, 50), "p95": pct(lat, 95), "first_p50": pct(first, 50), "first_p95": pct(first, 95),
        "stop_p50": pct(stops, 50), "stop_p95": pct(stops, 95), "stops_missed": sum(1 for r in rows if r["case"].category == "stop" and r["stop"] is None),
        "llm_share": sum(r["by"] == "llm" for r in rows) / len(rows),
        "per_category": {c: (sum(v), len(v)) for c, v in per_cat.items()},
        "misses": [(r["case"].category, r["case"].text, r["case"].expected, r["got"], r["refused"][:1]) for r in rows if not r["exact"]],
        "style_misses": [(r["case"].text, r["case"].emotion, r["case"].voice) for r in rows if not r["style_ok"]],
    }


def spread(cases: list, n: int) -> list:
    """Every k-th case, so a subset keeps every category; n = 0 means all."""
    if not n or n >= len(cases):
        return cases
    return cases[:: max(1, len(cases) // n)][:n]


def table(results: list[dict]) -> None:
    print("\n| backend | cases | plan exact-match | invalid requests caught | invalid calls reaching motion | empathy style | plan p50 / p95 (ms) | first sentence p50 / p95 (ms) | stop fast path p50 / p95 (ms) | turns the small model decided |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['n']} | {r['accuracy']:.1%} | {r['invalid_caught']} | {r['invalid_reaching_motion']} | {r['style']:.1%} | "
              f"{r['p50']:.1f} / {r['p95']:.1f} | {r['first_p50']:.1f} / {r['first_p95']:.1f} | {r['stop_p50']:.2f} / {r['stop_p95']:.2f} "
              f"({r['stops_missed']} missed) | {r['llm_share']:.0%} |")
    for r in results:
        print(f"\n{r['name']} per category: " + ", ".join(f"{c} {a}/{n}" for c, (a, n) in r["per_category"].items()))
        for miss in r["misses"][:25]:
            print(f"  miss [{miss[0]}] {miss[1]!r}: expected {miss[2]}, got {miss[3]} {miss[4]}")
        for miss in r["style_misses"][:15]:
            print(f"  style miss {miss[0]!r} (emotion {miss[1]}, from voice: {miss[2]})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-llm", action="store_true", help="skip the backends that need the small model")
    parser.add_argument("--llm-margin", type=float, default=0.01, help="embedded + small model: ask it when the best two intents are this close")
    parser.add_argument("--llm-cases", type=int, default=0, help="embedded + small model on this many cases (0 = all)")
    parser.add_argument("--tools-cases", type=int, default=0, help="run the tools backend (llama.cpp function calling) on this many cases")
    args = parser.parse_args()

    cases = evalset.build()
    examples = {s.lower() for ex in intents.EXAMPLES.values() for s in ex}
    overlap = [c.text for c in cases if c.text.lower().strip(" !?.") in examples]
    print(f"evaluation set: {len(cases)} utterances, {len({c.category for c in cases})} categories; "
          f"overlap with the intent examples: {len(overlap)} {overlap[:5]}")
    matcher = intents.IntentMatcher()
    matcher.match(["warm up"])
    results = [await run_backend("embedded (intent matching)", EmbeddedBackend(matcher), cases)]
    if not args.no_llm:
        with tempfile.TemporaryDirectory() as tmp:
            proc, url = start_llm_server(Path(tmp), log_dir=Path(tmp))
            try:
                chat = ChatClient(url, MODEL, timeout_s=60)
                results.append(await run_backend(f"embedded + Gemma 3 270M on near ties (margin {args.llm_margin})",
                                                 EmbeddedBackend(matcher, chat, llm_margin=args.llm_margin), spread(cases, args.llm_cases)))
                if args.tools_cases:
                    subset = spread(cases, args.tools_cases)
                    tools = ToolsBackend(ChatClient(url, TOOLS_MODEL, timeout_s=120), stream=False, max_tokens=60)
                    results.append(await run_backend("tools: Gemma 3 270M via llama.cpp function calling", tools, subset))
            finally:
                proc.stop()
    table(results)


if __name__ == "__main__":
    asyncio.run(main())
