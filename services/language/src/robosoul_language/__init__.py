"""RoboSoul's language service: dialogue, empathy and task planning into robot skills."""

__version__ = "0.1.0"
