"""The safety fast path: "stop", "wait", "freeze" and their paraphrases, without any model.

Runs first on every utterance, in microseconds. It errs towards stopping: a
false stop costs a Resume, a missed one can cost a collision. Words that can
start a sentence for other reasons ("wait", "hold on") count only at its
start or in a short utterance; "stop"/"halt"/"freeze" count anywhere except in
a handful of phrases where they do not ask the robot to stop ("bus stop",
"don't stop").
"""

from __future__ import annotations

import re

_ANYWHERE = re.compile(
    r"\b(stop|stopp?ing|halt|freeze|abort|e-?stop|emergency|cease|don'?t move|do not move|stay still|stand still|"
    r"keep still|hold still|don'?t you move|cut it out|quit it|that'?s enough|no no no|whoa|woah)\b"
)
_AT_START = re.compile(
    r"^(please |ok |okay |hey |no |robot |oh )*(wait|hold on|hang on|hold it|hold up|pause|enough|not so fast|careful|easy|"
    r"stay|one moment|one sec(ond)?|just a (sec(ond)?|moment))\b"
)
_NOT_A_STOP = re.compile(
    r"\b(bus|train|tram|last|next|full|pit|truck|door) stops?\b|\bstop (sign|light|watch)\b|\bstopwatch\b|"
    r"\b(don'?t|do not|never|won'?t) (ever )?stop\b|\bnon-?stop\b|\bwithout stopping\b"
)
_CLEAN = re.compile(r"[^a-z' -]+")


def normalise(text: str) -> str:
    return " ".join(_CLEAN.sub(" ", text.lower().replace("’", "'")).split())


def is_stop(text: str) -> bool:
    """Whether the utterance asks the robot to stop moving now."""
    t = normalise(text)
    if not t:
        return False
    if _ANYWHERE.search(_NOT_A_STOP.sub(" ", t)):
        return True
    words = t.split()
    return bool(_AT_START.match(t)) and (len(words) <= 4 or words[0] in ("wait", "hold", "hang", "pause", "stay"))
