"""RoboSoul motion service: action chunks from the policy served on Triton."""

__version__ = "0.1.0"
