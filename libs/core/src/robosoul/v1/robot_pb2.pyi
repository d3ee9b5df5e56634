from google.protobuf import timestamp_pb2 as _timestamp_pb2
from robosoul.v1 import dialogue_pb2 as _dialogue_pb2
from robosoul.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JointType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOINT_TYPE_UNSPECIFIED: _ClassVar[JointType]
    JOINT_TYPE_REVOLUTE: _ClassVar[JointType]
    JOINT_TYPE_PRISMATIC: _ClassVar[JointType]
    JOINT_TYPE_GRIPPER: _ClassVar[JointType]
JOINT_TYPE_UNSPECIFIED: JointType
JOINT_TYPE_REVOLUTE: JointType
JOINT_TYPE_PRISMATIC: JointType
JOINT_TYPE_GRIPPER: JointType

class Range(_message.Message):
    __slots__ = ("min", "max")
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    min: float
    max: float
    def __init__(self, min: _Optional[float] = ..., max: _Optional[float] = ...) -> None: ...

class Joint(_message.Message):
    __slots__ = ("name", "type", "position_limits", "max_velocity", "max_effort")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    POSITION_LIMITS_FIELD_NUMBER: _ClassVar[int]
    MAX_VELOCITY_FIELD_NUMBER: _ClassVar[int]
    MAX_EFFORT_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: JointType
    position_limits: Range
    max_velocity: float
    max_effort: float
    def __init__(self, name: _Optional[str] = ..., type: _Optional[_Union[JointType, str]] = ..., position_limits: _Optional[_Union[Range, _Mapping]] = ..., max_velocity: _Optional[float] = ..., max_effort: _Optional[float] = ...) -> None: ...

class CameraIntrinsics(_message.Message):
    __slots__ = ("fx", "fy", "cx", "cy")
    FX_FIELD_NUMBER: _ClassVar[int]
    FY_FIELD_NUMBER: _ClassVar[int]
    CX_FIELD_NUMBER: _ClassVar[int]
    CY_FIELD_NUMBER: _ClassVar[int]
    fx: float
    fy: float
    cx: float
    cy: float
    def __init__(self, fx: _Optional[float] = ..., fy: _Optional[float] = ..., cx: _Optional[float] = ..., cy: _Optional[float] = ...) -> None: ...

class CameraSpec(_message.Message):
    __slots__ = ("name", "width", "height", "fps", "has_depth", "intrinsics", "extrinsics")
    NAME_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    HAS_DEPTH_FIELD_NUMBER: _ClassVar[int]
    INTRINSICS_FIELD_NUMBER: _ClassVar[int]
    EXTRINSICS_FIELD_NUMBER: _ClassVar[int]
    name: str
    width: int
    height: int
    fps: float
    has_depth: bool
    intrinsics: CameraIntrinsics
    extrinsics: _tensor_pb2.Pose
    def __init__(self, name: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., fps: _Optional[float] = ..., has_depth: bool = ..., intrinsics: _Optional[_Union[CameraIntrinsics, _Mapping]] = ..., extrinsics: _Optional[_Union[_tensor_pb2.Pose, _Mapping]] = ...) -> None: ...

class AudioDeviceSpec(_message.Message):
    __slots__ = ("name", "sample_rate_hz", "channels")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    sample_rate_hz: int
    channels: int
    def __init__(self, name: _Optional[str] = ..., sample_rate_hz: _Optional[int] = ..., channels: _Optional[int] = ...) -> None: ...

class SimulationModel(_message.Message):
    __slots__ = ("mjcf", "assets", "end_effector_site")
    class AssetsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    MJCF_FIELD_NUMBER: _ClassVar[int]
    ASSETS_FIELD_NUMBER: _ClassVar[int]
    END_EFFECTOR_SITE_FIELD_NUMBER: _ClassVar[int]
    mjcf: str
    assets: _containers.ScalarMap[str, bytes]
    end_effector_site: str
    def __init__(self, mjcf: _Optional[str] = ..., assets: _Optional[_Mapping[str, bytes]] = ..., end_effector_site: _Optional[str] = ...) -> None: ...

class Embodiment(_message.Message):
    __slots__ = ("joints", "cameras", "microphone", "speaker", "model", "control_rate_hz", "embodiment_tag", "named_poses")
    class NamedPosesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: JointPositions
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[JointPositions, _Mapping]] = ...) -> None: ...
    JOINTS_FIELD_NUMBER: _ClassVar[int]
    CAMERAS_FIELD_NUMBER: _ClassVar[int]
    MICROPHONE_FIELD_NUMBER: _ClassVar[int]
    SPEAKER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CONTROL_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    EMBODIMENT_TAG_FIELD_NUMBER: _ClassVar[int]
    NAMED_POSES_FIELD_NUMBER: _ClassVar[int]
    joints: _containers.RepeatedCompositeFieldContainer[Joint]
    cameras: _containers.RepeatedCompositeFieldContainer[CameraSpec]
    microphone: AudioDeviceSpec
    speaker: AudioDeviceSpec
    model: SimulationModel
    control_rate_hz: float
    embodiment_tag: str
    named_poses: _containers.MessageMap[str, JointPositions]
    def __init__(self, joints: _Optional[_Iterable[_Union[Joint, _Mapping]]] = ..., cameras: _Optional[_Iterable[_Union[CameraSpec, _Mapping]]] = ..., microphone: _Optional[_Union[AudioDeviceSpec, _Mapping]] = ..., speaker: _Optional[_Union[AudioDeviceSpec, _Mapping]] = ..., model: _Optional[_Union[SimulationModel, _Mapping]] = ..., control_rate_hz: _Optional[float] = ..., embodiment_tag: _Optional[str] = ..., named_poses: _Optional[_Mapping[str, JointPositions]] = ...) -> None: ...

class JointPositions(_message.Message):
    __slots__ = ("positions",)
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    positions: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, positions: _Optional[_Iterable[float]] = ...) -> None: ...

class Robot(_message.Message):
    __slots__ = ("robot_id", "display_name", "embodiment", "created_at", "labels", "persona")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    EMBODIMENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    PERSONA_FIELD_NUMBER: _ClassVar[int]
    robot_id: str
    display_name: str
    embodiment: Embodiment
    created_at: _timestamp_pb2.Timestamp
    labels: _containers.ScalarMap[str, str]
    persona: _dialogue_pb2.Persona
    def __init__(self, robot_id: _Optional[str] = ..., display_name: _Optional[str] = ..., embodiment: _Optional[_Union[Embodiment, _Mapping]] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., labels: _Optional[_Mapping[str, str]] = ..., persona: _Optional[_Union[_dialogue_pb2.Persona, _Mapping]] = ...) -> None: ...
