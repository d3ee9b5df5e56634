from robosoul.v1 import dialogue_pb2 as _dialogue_pb2
from robosoul.v1 import session_pb2 as _session_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TurnRequest(_message.Message):
    __slots__ = ("tenant", "robot_id", "session_id", "utterance", "state", "source")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    UTTERANCE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    robot_id: str
    session_id: str
    utterance: _dialogue_pb2.UserText
    state: _session_pb2.JointState
    source: str
    def __init__(self, tenant: _Optional[str] = ..., robot_id: _Optional[str] = ..., session_id: _Optional[str] = ..., utterance: _Optional[_Union[_dialogue_pb2.UserText, _Mapping]] = ..., state: _Optional[_Union[_session_pb2.JointState, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class TurnResult(_message.Message):
    __slots__ = ("intent", "plan", "style", "refused", "fast_stop", "decided_by", "sentences")
    INTENT_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    STYLE_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    FAST_STOP_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    SENTENCES_FIELD_NUMBER: _ClassVar[int]
    intent: str
    plan: _session_pb2.Plan
    style: _dialogue_pb2.ReplyStyle
    refused: _containers.RepeatedScalarFieldContainer[str]
    fast_stop: bool
    decided_by: str
    sentences: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, intent: _Optional[str] = ..., plan: _Optional[_Union[_session_pb2.Plan, _Mapping]] = ..., style: _Optional[_Union[_dialogue_pb2.ReplyStyle, str]] = ..., refused: _Optional[_Iterable[str]] = ..., fast_stop: bool = ..., decided_by: _Optional[str] = ..., sentences: _Optional[_Iterable[str]] = ...) -> None: ...
