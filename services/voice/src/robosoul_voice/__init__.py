"""RoboSoul's voice service: end of turn, speech recognition, emotion, expressive speech, barge-in and echo."""

__version__ = "0.1.0"
