from google.protobuf import timestamp_pb2 as _timestamp_pb2
from robosoul.v1 import robot_pb2 as _robot_pb2
from robosoul.v1 import session_pb2 as _session_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChunkRequest(_message.Message):
    __slots__ = ("tenant", "robot_id", "session_id", "embodiment", "state", "goal", "observation_seq", "goal_set_at", "planned")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EMBODIMENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_SEQ_FIELD_NUMBER: _ClassVar[int]
    GOAL_SET_AT_FIELD_NUMBER: _ClassVar[int]
    PLANNED_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    robot_id: str
    session_id: str
    embodiment: _robot_pb2.Embodiment
    state: _session_pb2.JointState
    goal: _session_pb2.Goal
    observation_seq: int
    goal_set_at: _timestamp_pb2.Timestamp
    planned: _session_pb2.PlannedState
    def __init__(self, tenant: _Optional[str] = ..., robot_id: _Optional[str] = ..., session_id: _Optional[str] = ..., embodiment: _Optional[_Union[_robot_pb2.Embodiment, _Mapping]] = ..., state: _Optional[_Union[_session_pb2.JointState, _Mapping]] = ..., goal: _Optional[_Union[_session_pb2.Goal, _Mapping]] = ..., observation_seq: _Optional[int] = ..., goal_set_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., planned: _Optional[_Union[_session_pb2.PlannedState, _Mapping]] = ...) -> None: ...

class ChunkReply(_message.Message):
    __slots__ = ("chunk",)
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    chunk: _session_pb2.ActionChunk
    def __init__(self, chunk: _Optional[_Union[_session_pb2.ActionChunk, _Mapping]] = ...) -> None: ...
