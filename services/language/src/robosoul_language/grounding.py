"""Referring expressions -> scene objects: "the red cube on the left" -> obj-3.

A mention is what a phrase says about an object: a colour, a kind (shape or
class), a spatial cue (left, right, nearest, farthest, biggest, smallest,
middle) or a pronoun ("it", "that one") that refers back to the last object of
the conversation. Resolution filters the scene by colour and kind and lets the
spatial cue choose among what is left; it never guesses: two candidates and no
cue is an ambiguity the reply asks about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from robosoul.v1 import dialogue_pb2

COLORS = {
    "red": {"red", "crimson", "scarlet", "maroon", "cherry"},
    "green": {"green", "lime", "emerald", "olive"},
    "blue": {"blue", "navy", "azure", "cobalt", "teal", "cyan"},
    "yellow": {"yellow", "golden", "gold", "lemon"},
    "orange": {"orange", "amber"},
    "purple": {"purple", "violet", "lilac", "magenta"},
    "pink": {"pink", "rose"},
    "white": {"white", "ivory"},
    "black": {"black", "dark"},
    "gray": {"gray", "grey", "silver"},
    "brown": {"brown", "wooden"},
}
KINDS = {
    "cube": {"cube", "cubes", "block", "blocks", "brick", "bricks", "box-shaped"},
    "ball": {"ball", "balls", "sphere", "spheres", "orb"},
    "cup": {"cup", "cups", "mug", "mugs"},
    "bottle": {"bottle", "bottles"},
    "can": {"tin", "tins"},  # not "can": "can you grab..."
    "plate": {"plate", "plates", "dish", "saucer"},
    "bowl": {"bowl", "bowls"},
    "bin": {"bin", "bins", "basket", "bucket", "crate", "box", "container"},
    "tray": {"tray", "trays", "mat"},
    "cylinder": {"cylinder", "cylinders", "tube", "can-shaped"},
    "toy": {"toy", "toys", "teddy"},
}
# Kinds something can be put on or into.
RECEPTACLES = frozenset({"plate", "bowl", "bin", "tray"})
SPATIAL = {
    "left": {"left", "leftmost"},
    "right": {"right", "rightmost"},
    "nearest": {"nearest", "closest", "near", "close"},
    "farthest": {"farthest", "furthest", "far"},
    "biggest": {"biggest", "largest", "big", "large"},
    "smallest": {"smallest", "littlest", "small", "little", "tiny"},
    "middle": {"middle", "center", "centre"},
}
PRONOUNS = {"it", "that", "this", "them", "one"}
_COLOR_OF = {w: c for c, words in COLORS.items() for w in words}
_KIND_OF = {w: k for k, words in KINDS.items() for w in words}
_SPATIAL_OF = {w: s for s, words in SPATIAL.items() for w in words}
_TOKEN = re.compile(r"[a-z]+(?:-[a-z]+)?")


@dataclass
class Mention:
    """What a phrase says about one object."""

    colors: set[str] = field(default_factory=set)
    kind: str = ""
    spatial: str = ""
    pronoun: bool = False
    text: str = ""

    @property
    def empty(self) -> bool:
        return not (self.colors or self.kind or self.pronoun)

    def describe(self) -> str:
        words = [*sorted(self.colors), self.kind or ("one" if self.colors else "thing")]
        return " ".join(words)


def normalise_color(color: str) -> str:
    return _COLOR_OF.get(color.lower(), color.lower())


def normalise_kind(label: str) -> str:
    return _KIND_OF.get(label.lower(), label.lower())


def parse_mention(phrase: str) -> Mention:
    """The colours, kind, spatial cue and pronoun in a phrase (one object's worth)."""
    m = Mention(text=phrase.strip())
    for tok in _TOKEN.findall(phrase.lower()):
        if tok in _COLOR_OF:
            m.colors.add(_COLOR_OF[tok])
        elif tok in _KIND_OF and not m.kind:
            m.kind = _KIND_OF[tok]
        elif tok in _SPATIAL_OF and not m.spatial:
            m.spatial = _SPATIAL_OF[tok]
        elif tok in PRONOUNS:
            m.pronoun = True
    return m


@dataclass
class Resolution:
    obj: dialogue_pb2.SceneObject | None = None
    # Why nothing was chosen, in words for the reply ("I can't see a blue cup").
    problem: str = ""


def describe(obj: dialogue_pb2.SceneObject) -> str:
    return f"{obj.color} {obj.label}".strip()


def _matches(obj: dialogue_pb2.SceneObject, m: Mention) -> bool:
    if m.colors and normalise_color(obj.color) not in m.colors:
        return False
    return not m.kind or normalise_kind(obj.label) == m.kind


def _pick_spatial(cands: list[dialogue_pb2.SceneObject], cue: str) -> dialogue_pb2.SceneObject:
    # Base frame: x forward, y left, z up.
    def dist(o):
        return (o.position.x**2 + o.position.y**2) ** 0.5

    key = {
        "left": lambda o: -o.position.y,
        "right": lambda o: o.position.y,
        "nearest": dist,
        "farthest": lambda o: -dist(o),
        "biggest": lambda o: -o.size_m,
        "smallest": lambda o: o.size_m,
    }.get(cue)
    if key is None:  # middle: closest to the candidates' median y
        ys = sorted(o.position.y for o in cands)
        mid = ys[len(ys) // 2]
        return min(cands, key=lambda o: abs(o.position.y - mid))
    return min(cands, key=key)


def resolve(m: Mention, scene: dialogue_pb2.Scene | None, *, last_object: str = "", receptacle: bool = False) -> Resolution:
    """The one scene object a mention means, or why there is none."""
    objects = list(scene.objects) if scene is not None else []
    if m.empty and not m.spatial:
        return Resolution(problem="I'm not sure which object you mean")
    if m.pronoun and not (m.colors or m.kind):
        for obj in objects:
            if obj.object_id == last_object:
                return Resolution(obj=obj)
        if not m.spatial:
            return Resolution(problem="I'm not sure what \"it\" refers to")
    if not objects:
        return Resolution(problem=f"I can't see a {m.describe()} — I can't see any objects right now")
    cands = [o for o in objects if _matches(o, m)]
    if receptacle and not m.kind:
        cands = [o for o in cands if normalise_kind(o.label) in RECEPTACLES] or cands
    if not cands:
        return Resolution(problem=f"I can't see a {m.describe()}")
    if len(cands) == 1:
        return Resolution(obj=cands[0])
    if m.spatial:
        return Resolution(obj=_pick_spatial(cands, m.spatial))
    return Resolution(problem=f"I can see {len(cands)} of those — which {m.describe()} do you mean?")
