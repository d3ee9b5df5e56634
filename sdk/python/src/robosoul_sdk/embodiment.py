"""Small helpers to describe a robot without writing protobuf by hand.

    >>> emb = embodiment([revolute("shoulder", -1.5, 1.5, max_velocity=2.0)], control_rate_hz=50)
    >>> emb.joints[0].name, emb.control_rate_hz
    ('shoulder', 50.0)
"""

from __future__ import annotations

from collections.abc import Iterable

from robosoul.v1 import robot_pb2


def revolute(name: str, lower: float, upper: float, *, max_velocity: float, max_effort: float = 0.0) -> robot_pb2.Joint:
    """A rotary joint: limits in radians, velocity in rad/s."""
    return robot_pb2.Joint(
        name=name, type=robot_pb2.JOINT_TYPE_REVOLUTE, position_limits=robot_pb2.Range(min=lower, max=upper),
        max_velocity=max_velocity, max_effort=max_effort,
    )


def prismatic(name: str, lower: float, upper: float, *, max_velocity: float, max_effort: float = 0.0) -> robot_pb2.Joint:
    """A linear joint: limits in metres, velocity in m/s."""
    return robot_pb2.Joint(
        name=name, type=robot_pb2.JOINT_TYPE_PRISMATIC, position_limits=robot_pb2.Range(min=lower, max=upper),
        max_velocity=max_velocity, max_effort=max_effort,
    )


def embodiment(
    joints: Iterable[robot_pb2.Joint],
    *,
    control_rate_hz: float = 50.0,
    embodiment_tag: str = "",
    cameras: Iterable[robot_pb2.CameraSpec] = (),
    microphone: robot_pb2.AudioDeviceSpec | None = None,
    speaker: robot_pb2.AudioDeviceSpec | None = None,
    model: robot_pb2.SimulationModel | None = None,
) -> robot_pb2.Embodiment:
    emb = robot_pb2.Embodiment(joints=list(joints), cameras=list(cameras), control_rate_hz=control_rate_hz, embodiment_tag=embodiment_tag)
    if microphone is not None:
        emb.microphone.CopyFrom(microphone)
    if speaker is not None:
        emb.speaker.CopyFrom(speaker)
    if model is not None:
        emb.model.CopyFrom(model)
    return emb
