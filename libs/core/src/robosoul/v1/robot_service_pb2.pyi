from robosoul.v1 import dialogue_pb2 as _dialogue_pb2
from robosoul.v1 import robot_pb2 as _robot_pb2
from robosoul.v1 import session_pb2 as _session_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RegisterRobotRequest(_message.Message):
    __slots__ = ("robot",)
    ROBOT_FIELD_NUMBER: _ClassVar[int]
    robot: _robot_pb2.Robot
    def __init__(self, robot: _Optional[_Union[_robot_pb2.Robot, _Mapping]] = ...) -> None: ...

class GetRobotRequest(_message.Message):
    __slots__ = ("robot_id",)
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    robot_id: str
    def __init__(self, robot_id: _Optional[str] = ...) -> None: ...

class ListRobotsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRobotsResponse(_message.Message):
    __slots__ = ("robots", "next_page_token")
    ROBOTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    robots: _containers.RepeatedCompositeFieldContainer[_robot_pb2.Robot]
    next_page_token: str
    def __init__(self, robots: _Optional[_Iterable[_Union[_robot_pb2.Robot, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteRobotRequest(_message.Message):
    __slots__ = ("robot_id",)
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    robot_id: str
    def __init__(self, robot_id: _Optional[str] = ...) -> None: ...

class DeleteRobotResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopRobotRequest(_message.Message):
    __slots__ = ("robot_id", "reason")
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    robot_id: str
    reason: str
    def __init__(self, robot_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class StopRobotResponse(_message.Message):
    __slots__ = ("delivered",)
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    delivered: bool
    def __init__(self, delivered: bool = ...) -> None: ...

class SetPersonaRequest(_message.Message):
    __slots__ = ("robot_id", "persona")
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    PERSONA_FIELD_NUMBER: _ClassVar[int]
    robot_id: str
    persona: _dialogue_pb2.Persona
    def __init__(self, robot_id: _Optional[str] = ..., persona: _Optional[_Union[_dialogue_pb2.Persona, _Mapping]] = ...) -> None: ...
