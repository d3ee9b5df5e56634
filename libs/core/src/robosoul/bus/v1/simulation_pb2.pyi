from robosoul.v1 import onboarding_pb2 as _onboarding_pb2
from robosoul.v1 import robot_pb2 as _robot_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ValidateModelRequest(_message.Message):
    __slots__ = ("tenant", "robot_id", "embodiment")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    EMBODIMENT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    robot_id: str
    embodiment: _robot_pb2.Embodiment
    def __init__(self, tenant: _Optional[str] = ..., robot_id: _Optional[str] = ..., embodiment: _Optional[_Union[_robot_pb2.Embodiment, _Mapping]] = ...) -> None: ...

class ValidateModelReply(_message.Message):
    __slots__ = ("report",)
    REPORT_FIELD_NUMBER: _ClassVar[int]
    report: _onboarding_pb2.ModelReport
    def __init__(self, report: _Optional[_Union[_onboarding_pb2.ModelReport, _Mapping]] = ...) -> None: ...

class OnboardingTask(_message.Message):
    __slots__ = ("tenant", "job_id")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    job_id: str
    def __init__(self, tenant: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...
