from google.protobuf import timestamp_pb2 as _timestamp_pb2
from robosoul.v1 import session_pb2 as _session_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_OPERATOR: _ClassVar[Role]
    ROLE_VIEWER: _ClassVar[Role]
ROLE_UNSPECIFIED: Role
ROLE_OPERATOR: Role
ROLE_VIEWER: Role

class ApiKeyRecord(_message.Message):
    __slots__ = ("key_id", "tenant", "role", "salt", "secret_hash", "algorithm", "created_at", "revoked", "description")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    SECRET_HASH_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    tenant: str
    role: Role
    salt: bytes
    secret_hash: bytes
    algorithm: str
    created_at: _timestamp_pb2.Timestamp
    revoked: bool
    description: str
    def __init__(self, key_id: _Optional[str] = ..., tenant: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., salt: _Optional[bytes] = ..., secret_hash: _Optional[bytes] = ..., algorithm: _Optional[str] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., revoked: bool = ..., description: _Optional[str] = ...) -> None: ...

class RobotCommand(_message.Message):
    __slots__ = ("goal", "stop", "speech", "event", "reply", "cancel_speech", "heard")
    GOAL_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    SPEECH_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    CANCEL_SPEECH_FIELD_NUMBER: _ClassVar[int]
    HEARD_FIELD_NUMBER: _ClassVar[int]
    goal: _session_pb2.Goal
    stop: _session_pb2.Stop
    speech: _session_pb2.SpeechAudio
    event: _session_pb2.Event
    reply: _session_pb2.Reply
    cancel_speech: _session_pb2.CancelSpeech
    heard: _session_pb2.Heard
    def __init__(self, goal: _Optional[_Union[_session_pb2.Goal, _Mapping]] = ..., stop: _Optional[_Union[_session_pb2.Stop, _Mapping]] = ..., speech: _Optional[_Union[_session_pb2.SpeechAudio, _Mapping]] = ..., event: _Optional[_Union[_session_pb2.Event, _Mapping]] = ..., reply: _Optional[_Union[_session_pb2.Reply, _Mapping]] = ..., cancel_speech: _Optional[_Union[_session_pb2.CancelSpeech, _Mapping]] = ..., heard: _Optional[_Union[_session_pb2.Heard, _Mapping]] = ...) -> None: ...

class ObservationEnvelope(_message.Message):
    __slots__ = ("tenant", "robot_id", "session_id", "observation", "stored_observation")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    STORED_OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    robot_id: str
    session_id: str
    observation: _session_pb2.Observation
    stored_observation: StoredObject
    def __init__(self, tenant: _Optional[str] = ..., robot_id: _Optional[str] = ..., session_id: _Optional[str] = ..., observation: _Optional[_Union[_session_pb2.Observation, _Mapping]] = ..., stored_observation: _Optional[_Union[StoredObject, _Mapping]] = ...) -> None: ...

class StoredObject(_message.Message):
    __slots__ = ("bucket", "name", "size")
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    bucket: str
    name: str
    size: int
    def __init__(self, bucket: _Optional[str] = ..., name: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...
