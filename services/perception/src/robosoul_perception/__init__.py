"""RoboSoul's perception service: coloured objects in 3-D, stable track ids, people and faces.

This package's `__init__` imports nothing: `people_worker` runs from it inside the
separate mediapipe environment (`.venv-perception`), which has no robosoul code.
"""

__version__ = "0.1.0"
