"""The older name of `bodies` (load_arm / embodiment_for / known_tags), kept for callers."""

from robosoul_simulation.bodies import Arm, embodiment_for, known_tags, load_arm, load_body

__all__ = ["Arm", "embodiment_for", "known_tags", "load_arm", "load_body"]
