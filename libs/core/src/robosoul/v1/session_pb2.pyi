from google.protobuf import timestamp_pb2 as _timestamp_pb2
from robosoul.v1 import dialogue_pb2 as _dialogue_pb2
from robosoul.v1 import robot_pb2 as _robot_pb2
from robosoul.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMAGE_ENCODING_UNSPECIFIED: _ClassVar[ImageEncoding]
    IMAGE_ENCODING_JPEG: _ClassVar[ImageEncoding]
    IMAGE_ENCODING_PNG: _ClassVar[ImageEncoding]
    IMAGE_ENCODING_RGB8: _ClassVar[ImageEncoding]

class Skill(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SKILL_UNSPECIFIED: _ClassVar[Skill]
    SKILL_HOLD: _ClassVar[Skill]
    SKILL_REACH: _ClassVar[Skill]
    SKILL_MOVE_TO_POSE: _ClassVar[Skill]
    SKILL_FOLLOW_PATH: _ClassVar[Skill]
    SKILL_GRASP_AND_PLACE: _ClassVar[Skill]
IMAGE_ENCODING_UNSPECIFIED: ImageEncoding
IMAGE_ENCODING_JPEG: ImageEncoding
IMAGE_ENCODING_PNG: ImageEncoding
IMAGE_ENCODING_RGB8: ImageEncoding
SKILL_UNSPECIFIED: Skill
SKILL_HOLD: Skill
SKILL_REACH: Skill
SKILL_MOVE_TO_POSE: Skill
SKILL_FOLLOW_PATH: Skill
SKILL_GRASP_AND_PLACE: Skill

class JointState(_message.Message):
    __slots__ = ("timestamp", "names", "positions", "velocities", "efforts")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    NAMES_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    VELOCITIES_FIELD_NUMBER: _ClassVar[int]
    EFFORTS_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    names: _containers.RepeatedScalarFieldContainer[str]
    positions: _containers.RepeatedScalarFieldContainer[float]
    velocities: _containers.RepeatedScalarFieldContainer[float]
    efforts: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., names: _Optional[_Iterable[str]] = ..., positions: _Optional[_Iterable[float]] = ..., velocities: _Optional[_Iterable[float]] = ..., efforts: _Optional[_Iterable[float]] = ...) -> None: ...

class CameraFrame(_message.Message):
    __slots__ = ("timestamp", "camera", "encoding", "width", "height", "encoded", "raw")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CAMERA_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    ENCODED_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    camera: str
    encoding: ImageEncoding
    width: int
    height: int
    encoded: bytes
    raw: _tensor_pb2.Tensor
    def __init__(self, timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., camera: _Optional[str] = ..., encoding: _Optional[_Union[ImageEncoding, str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., encoded: _Optional[bytes] = ..., raw: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ...) -> None: ...

class DepthFrame(_message.Message):
    __slots__ = ("timestamp", "camera", "depth")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CAMERA_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    camera: str
    depth: _tensor_pb2.Tensor
    def __init__(self, timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., camera: _Optional[str] = ..., depth: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("timestamp", "device", "sample_rate_hz", "samples")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    device: str
    sample_rate_hz: int
    samples: _tensor_pb2.Tensor
    def __init__(self, timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., device: _Optional[str] = ..., sample_rate_hz: _Optional[int] = ..., samples: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ...) -> None: ...

class Observation(_message.Message):
    __slots__ = ("seq", "joint_state", "camera_frame", "depth_frame", "audio", "request_actions", "planned")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    JOINT_STATE_FIELD_NUMBER: _ClassVar[int]
    CAMERA_FRAME_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FRAME_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    PLANNED_FIELD_NUMBER: _ClassVar[int]
    seq: int
    joint_state: JointState
    camera_frame: CameraFrame
    depth_frame: DepthFrame
    audio: AudioChunk
    request_actions: bool
    planned: PlannedState
    def __init__(self, seq: _Optional[int] = ..., joint_state: _Optional[_Union[JointState, _Mapping]] = ..., camera_frame: _Optional[_Union[CameraFrame, _Mapping]] = ..., depth_frame: _Optional[_Union[DepthFrame, _Mapping]] = ..., audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., request_actions: bool = ..., planned: _Optional[_Union[PlannedState, _Mapping]] = ...) -> None: ...

class PlannedState(_message.Message):
    __slots__ = ("lead_s", "positions", "velocities")
    LEAD_S_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    VELOCITIES_FIELD_NUMBER: _ClassVar[int]
    lead_s: float
    positions: _containers.RepeatedScalarFieldContainer[float]
    velocities: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, lead_s: _Optional[float] = ..., positions: _Optional[_Iterable[float]] = ..., velocities: _Optional[_Iterable[float]] = ...) -> None: ...

class Path(_message.Message):
    __slots__ = ("waypoints", "duration_s")
    WAYPOINTS_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    waypoints: _containers.RepeatedCompositeFieldContainer[_tensor_pb2.Vec3]
    duration_s: float
    def __init__(self, waypoints: _Optional[_Iterable[_Union[_tensor_pb2.Vec3, _Mapping]]] = ..., duration_s: _Optional[float] = ...) -> None: ...

class GraspPlace(_message.Message):
    __slots__ = ("object", "place")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    PLACE_FIELD_NUMBER: _ClassVar[int]
    object: _tensor_pb2.Vec3
    place: _tensor_pb2.Vec3
    def __init__(self, object: _Optional[_Union[_tensor_pb2.Vec3, _Mapping]] = ..., place: _Optional[_Union[_tensor_pb2.Vec3, _Mapping]] = ...) -> None: ...

class Goal(_message.Message):
    __slots__ = ("goal_id", "skill", "position", "named_pose", "joints", "path", "grasp")
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    SKILL_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    NAMED_POSE_FIELD_NUMBER: _ClassVar[int]
    JOINTS_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    GRASP_FIELD_NUMBER: _ClassVar[int]
    goal_id: str
    skill: Skill
    position: _tensor_pb2.Vec3
    named_pose: str
    joints: _robot_pb2.JointPositions
    path: Path
    grasp: GraspPlace
    def __init__(self, goal_id: _Optional[str] = ..., skill: _Optional[_Union[Skill, str]] = ..., position: _Optional[_Union[_tensor_pb2.Vec3, _Mapping]] = ..., named_pose: _Optional[str] = ..., joints: _Optional[_Union[_robot_pb2.JointPositions, _Mapping]] = ..., path: _Optional[_Union[Path, _Mapping]] = ..., grasp: _Optional[_Union[GraspPlace, _Mapping]] = ...) -> None: ...

class SessionOpen(_message.Message):
    __slots__ = ("robot_id", "client_name", "sdk_version")
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    SDK_VERSION_FIELD_NUMBER: _ClassVar[int]
    robot_id: str
    client_name: str
    sdk_version: str
    def __init__(self, robot_id: _Optional[str] = ..., client_name: _Optional[str] = ..., sdk_version: _Optional[str] = ...) -> None: ...

class Resume(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Ping(_message.Message):
    __slots__ = ("nonce",)
    NONCE_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    def __init__(self, nonce: _Optional[int] = ...) -> None: ...

class SkillCall(_message.Message):
    __slots__ = ("skill", "object_id", "location_id", "person_id", "description", "goal")
    SKILL_FIELD_NUMBER: _ClassVar[int]
    OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    LOCATION_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    skill: str
    object_id: str
    location_id: str
    person_id: str
    description: str
    goal: Goal
    def __init__(self, skill: _Optional[str] = ..., object_id: _Optional[str] = ..., location_id: _Optional[str] = ..., person_id: _Optional[str] = ..., description: _Optional[str] = ..., goal: _Optional[_Union[Goal, _Mapping]] = ...) -> None: ...

class Plan(_message.Message):
    __slots__ = ("plan_id", "steps")
    PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    plan_id: str
    steps: _containers.RepeatedCompositeFieldContainer[SkillCall]
    def __init__(self, plan_id: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[SkillCall, _Mapping]]] = ...) -> None: ...

class Reply(_message.Message):
    __slots__ = ("utterance_id", "seq", "text", "style", "final", "plan", "intent", "emotion", "trend", "refused", "transcript")
    UTTERANCE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    INTENT_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    TREND_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    utterance_id: str
    seq: int
    text: str
    style: _dialogue_pb2.ReplyStyle
    final: bool
    plan: Plan
    intent: str
    emotion: _dialogue_pb2.Emotion
    trend: _dialogue_pb2.EmotionTrend
    refused: _containers.RepeatedScalarFieldContainer[str]
    transcript: str
    def __init__(self, utterance_id: _Optional[str] = ..., seq: _Optional[int] = ..., text: _Optional[str] = ..., style: _Optional[_Union[_dialogue_pb2.ReplyStyle, str]] = ..., final: bool = ..., plan: _Optional[_Union[Plan, _Mapping]] = ..., intent: _Optional[str] = ..., emotion: _Optional[_Union[_dialogue_pb2.Emotion, _Mapping]] = ..., trend: _Optional[_Union[_dialogue_pb2.EmotionTrend, _Mapping]] = ..., refused: _Optional[_Iterable[str]] = ..., transcript: _Optional[str] = ...) -> None: ...

class ClientMessage(_message.Message):
    __slots__ = ("trace_context", "open", "observation", "set_goal", "resume", "ping", "text", "scene")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    OPEN_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    SET_GOAL_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SCENE_FIELD_NUMBER: _ClassVar[int]
    trace_context: _containers.ScalarMap[str, str]
    open: SessionOpen
    observation: Observation
    set_goal: Goal
    resume: Resume
    ping: Ping
    text: _dialogue_pb2.UserText
    scene: _dialogue_pb2.Scene
    def __init__(self, trace_context: _Optional[_Mapping[str, str]] = ..., open: _Optional[_Union[SessionOpen, _Mapping]] = ..., observation: _Optional[_Union[Observation, _Mapping]] = ..., set_goal: _Optional[_Union[Goal, _Mapping]] = ..., resume: _Optional[_Union[Resume, _Mapping]] = ..., ping: _Optional[_Union[Ping, _Mapping]] = ..., text: _Optional[_Union[_dialogue_pb2.UserText, _Mapping]] = ..., scene: _Optional[_Union[_dialogue_pb2.Scene, _Mapping]] = ...) -> None: ...

class ActionChunk(_message.Message):
    __slots__ = ("chunk_id", "observation_seq", "start_time", "step_period_s", "joint_names", "positions", "goal_id", "model_version")
    CHUNK_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_SEQ_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STEP_PERIOD_S_FIELD_NUMBER: _ClassVar[int]
    JOINT_NAMES_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    GOAL_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    chunk_id: int
    observation_seq: int
    start_time: _timestamp_pb2.Timestamp
    step_period_s: float
    joint_names: _containers.RepeatedScalarFieldContainer[str]
    positions: _tensor_pb2.Tensor
    goal_id: str
    model_version: str
    def __init__(self, chunk_id: _Optional[int] = ..., observation_seq: _Optional[int] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., step_period_s: _Optional[float] = ..., joint_names: _Optional[_Iterable[str]] = ..., positions: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., goal_id: _Optional[str] = ..., model_version: _Optional[str] = ...) -> None: ...

class SpeechAudio(_message.Message):
    __slots__ = ("utterance_id", "seq", "sample_rate_hz", "samples", "text", "final", "style")
    UTTERANCE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    utterance_id: str
    seq: int
    sample_rate_hz: int
    samples: _tensor_pb2.Tensor
    text: str
    final: bool
    style: _dialogue_pb2.ReplyStyle
    def __init__(self, utterance_id: _Optional[str] = ..., seq: _Optional[int] = ..., sample_rate_hz: _Optional[int] = ..., samples: _Optional[_Union[_tensor_pb2.Tensor, _Mapping]] = ..., text: _Optional[str] = ..., final: bool = ..., style: _Optional[_Union[_dialogue_pb2.ReplyStyle, str]] = ...) -> None: ...

class CancelSpeech(_message.Message):
    __slots__ = ("utterance_id", "reason", "timestamp")
    UTTERANCE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    utterance_id: str
    reason: str
    timestamp: _timestamp_pb2.Timestamp
    def __init__(self, utterance_id: _Optional[str] = ..., reason: _Optional[str] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Heard(_message.Message):
    __slots__ = ("utterance_id", "transcript", "emotion", "final", "end_of_turn_s", "asr_wait_s", "turn_score")
    UTTERANCE_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    END_OF_TURN_S_FIELD_NUMBER: _ClassVar[int]
    ASR_WAIT_S_FIELD_NUMBER: _ClassVar[int]
    TURN_SCORE_FIELD_NUMBER: _ClassVar[int]
    utterance_id: str
    transcript: str
    emotion: _dialogue_pb2.Emotion
    final: bool
    end_of_turn_s: float
    asr_wait_s: float
    turn_score: float
    def __init__(self, utterance_id: _Optional[str] = ..., transcript: _Optional[str] = ..., emotion: _Optional[_Union[_dialogue_pb2.Emotion, _Mapping]] = ..., final: bool = ..., end_of_turn_s: _Optional[float] = ..., asr_wait_s: _Optional[float] = ..., turn_score: _Optional[float] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("timestamp", "kind", "message", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    kind: str
    message: str
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[str] = ..., message: _Optional[str] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message", "observation_seq")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_SEQ_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    observation_seq: int
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ..., observation_seq: _Optional[int] = ...) -> None: ...

class Stop(_message.Message):
    __slots__ = ("reason", "source", "timestamp")
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    reason: str
    source: str
    timestamp: _timestamp_pb2.Timestamp
    def __init__(self, reason: _Optional[str] = ..., source: _Optional[str] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SessionLimits(_message.Message):
    __slots__ = ("max_message_bytes", "max_joints", "max_clock_skew_s", "max_frame_bytes")
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_JOINTS_FIELD_NUMBER: _ClassVar[int]
    MAX_CLOCK_SKEW_S_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAME_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_message_bytes: int
    max_joints: int
    max_clock_skew_s: float
    max_frame_bytes: int
    def __init__(self, max_message_bytes: _Optional[int] = ..., max_joints: _Optional[int] = ..., max_clock_skew_s: _Optional[float] = ..., max_frame_bytes: _Optional[int] = ...) -> None: ...

class SessionStarted(_message.Message):
    __slots__ = ("session_id", "robot", "server_time", "limits")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ROBOT_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    robot: _robot_pb2.Robot
    server_time: _timestamp_pb2.Timestamp
    limits: SessionLimits
    def __init__(self, session_id: _Optional[str] = ..., robot: _Optional[_Union[_robot_pb2.Robot, _Mapping]] = ..., server_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., limits: _Optional[_Union[SessionLimits, _Mapping]] = ...) -> None: ...

class Pong(_message.Message):
    __slots__ = ("nonce", "server_time")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    server_time: _timestamp_pb2.Timestamp
    def __init__(self, nonce: _Optional[int] = ..., server_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BrainMessage(_message.Message):
    __slots__ = ("started", "actions", "speech", "event", "error", "stop", "pong", "reply", "cancel_speech", "heard", "trace_context")
    class TraceContextEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    STARTED_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    SPEECH_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    PONG_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    CANCEL_SPEECH_FIELD_NUMBER: _ClassVar[int]
    HEARD_FIELD_NUMBER: _ClassVar[int]
    TRACE_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    started: SessionStarted
    actions: ActionChunk
    speech: SpeechAudio
    event: Event
    error: Error
    stop: Stop
    pong: Pong
    reply: Reply
    cancel_speech: CancelSpeech
    heard: Heard
    trace_context: _containers.ScalarMap[str, str]
    def __init__(self, started: _Optional[_Union[SessionStarted, _Mapping]] = ..., actions: _Optional[_Union[ActionChunk, _Mapping]] = ..., speech: _Optional[_Union[SpeechAudio, _Mapping]] = ..., event: _Optional[_Union[Event, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., stop: _Optional[_Union[Stop, _Mapping]] = ..., pong: _Optional[_Union[Pong, _Mapping]] = ..., reply: _Optional[_Union[Reply, _Mapping]] = ..., cancel_speech: _Optional[_Union[CancelSpeech, _Mapping]] = ..., heard: _Optional[_Union[Heard, _Mapping]] = ..., trace_context: _Optional[_Mapping[str, str]] = ...) -> None: ...
