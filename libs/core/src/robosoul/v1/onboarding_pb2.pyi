from google.protobuf import timestamp_pb2 as _timestamp_pb2
from robosoul.v1 import robot_pb2 as _robot_pb2
from robosoul.v1 import session_pb2 as _session_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OnboardingStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ONBOARDING_STAGE_UNSPECIFIED: _ClassVar[OnboardingStage]
    ONBOARDING_STAGE_QUEUED: _ClassVar[OnboardingStage]
    ONBOARDING_STAGE_VALIDATE: _ClassVar[OnboardingStage]
    ONBOARDING_STAGE_DEMONSTRATE: _ClassVar[OnboardingStage]
    ONBOARDING_STAGE_ADAPT: _ClassVar[OnboardingStage]
    ONBOARDING_STAGE_EVALUATE: _ClassVar[OnboardingStage]
    ONBOARDING_STAGE_PUBLISH: _ClassVar[OnboardingStage]
    ONBOARDING_STAGE_DONE: _ClassVar[OnboardingStage]

class OnboardingState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ONBOARDING_STATE_UNSPECIFIED: _ClassVar[OnboardingState]
    ONBOARDING_STATE_RUNNING: _ClassVar[OnboardingState]
    ONBOARDING_STATE_SUCCEEDED: _ClassVar[OnboardingState]
    ONBOARDING_STATE_REJECTED: _ClassVar[OnboardingState]
    ONBOARDING_STATE_FAILED: _ClassVar[OnboardingState]
ONBOARDING_STAGE_UNSPECIFIED: OnboardingStage
ONBOARDING_STAGE_QUEUED: OnboardingStage
ONBOARDING_STAGE_VALIDATE: OnboardingStage
ONBOARDING_STAGE_DEMONSTRATE: OnboardingStage
ONBOARDING_STAGE_ADAPT: OnboardingStage
ONBOARDING_STAGE_EVALUATE: OnboardingStage
ONBOARDING_STAGE_PUBLISH: OnboardingStage
ONBOARDING_STAGE_DONE: OnboardingStage
ONBOARDING_STATE_UNSPECIFIED: OnboardingState
ONBOARDING_STATE_RUNNING: OnboardingState
ONBOARDING_STATE_SUCCEEDED: OnboardingState
ONBOARDING_STATE_REJECTED: OnboardingState
ONBOARDING_STATE_FAILED: OnboardingState

class UploadModelRequest(_message.Message):
    __slots__ = ("robot_id", "model")
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    robot_id: str
    model: _robot_pb2.SimulationModel
    def __init__(self, robot_id: _Optional[str] = ..., model: _Optional[_Union[_robot_pb2.SimulationModel, _Mapping]] = ...) -> None: ...

class KinematicChain(_message.Message):
    __slots__ = ("joints", "end_effector_site", "gripper_joint")
    JOINTS_FIELD_NUMBER: _ClassVar[int]
    END_EFFECTOR_SITE_FIELD_NUMBER: _ClassVar[int]
    GRIPPER_JOINT_FIELD_NUMBER: _ClassVar[int]
    joints: _containers.RepeatedScalarFieldContainer[str]
    end_effector_site: str
    gripper_joint: str
    def __init__(self, joints: _Optional[_Iterable[str]] = ..., end_effector_site: _Optional[str] = ..., gripper_joint: _Optional[str] = ...) -> None: ...

class ModelReport(_message.Message):
    __slots__ = ("chains", "warnings", "timestep_s", "actuators", "total_mass_kg")
    CHAINS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    TIMESTEP_S_FIELD_NUMBER: _ClassVar[int]
    ACTUATORS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MASS_KG_FIELD_NUMBER: _ClassVar[int]
    chains: _containers.RepeatedCompositeFieldContainer[KinematicChain]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    timestep_s: float
    actuators: int
    total_mass_kg: float
    def __init__(self, chains: _Optional[_Iterable[_Union[KinematicChain, _Mapping]]] = ..., warnings: _Optional[_Iterable[str]] = ..., timestep_s: _Optional[float] = ..., actuators: _Optional[int] = ..., total_mass_kg: _Optional[float] = ...) -> None: ...

class OnboardingOptions(_message.Message):
    __slots__ = ("min_success", "demo_episodes", "eval_episodes", "allow_fine_tune", "skills")
    MIN_SUCCESS_FIELD_NUMBER: _ClassVar[int]
    DEMO_EPISODES_FIELD_NUMBER: _ClassVar[int]
    EVAL_EPISODES_FIELD_NUMBER: _ClassVar[int]
    ALLOW_FINE_TUNE_FIELD_NUMBER: _ClassVar[int]
    SKILLS_FIELD_NUMBER: _ClassVar[int]
    min_success: float
    demo_episodes: int
    eval_episodes: int
    allow_fine_tune: bool
    skills: _containers.RepeatedScalarFieldContainer[_session_pb2.Skill]
    def __init__(self, min_success: _Optional[float] = ..., demo_episodes: _Optional[int] = ..., eval_episodes: _Optional[int] = ..., allow_fine_tune: bool = ..., skills: _Optional[_Iterable[_Union[_session_pb2.Skill, str]]] = ...) -> None: ...

class StartOnboardingRequest(_message.Message):
    __slots__ = ("robot_id", "options")
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    robot_id: str
    options: OnboardingOptions
    def __init__(self, robot_id: _Optional[str] = ..., options: _Optional[_Union[OnboardingOptions, _Mapping]] = ...) -> None: ...

class GetOnboardingRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class EvaluationReport(_message.Message):
    __slots__ = ("episodes", "success_rate", "final_error_p50_m", "final_error_p95_m", "tracking_error_m", "mean_jerk", "joint_limit_violations", "success_by_skill")
    class SuccessBySkillEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    EPISODES_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    FINAL_ERROR_P50_M_FIELD_NUMBER: _ClassVar[int]
    FINAL_ERROR_P95_M_FIELD_NUMBER: _ClassVar[int]
    TRACKING_ERROR_M_FIELD_NUMBER: _ClassVar[int]
    MEAN_JERK_FIELD_NUMBER: _ClassVar[int]
    JOINT_LIMIT_VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_BY_SKILL_FIELD_NUMBER: _ClassVar[int]
    episodes: int
    success_rate: float
    final_error_p50_m: float
    final_error_p95_m: float
    tracking_error_m: float
    mean_jerk: float
    joint_limit_violations: int
    success_by_skill: _containers.ScalarMap[str, float]
    def __init__(self, episodes: _Optional[int] = ..., success_rate: _Optional[float] = ..., final_error_p50_m: _Optional[float] = ..., final_error_p95_m: _Optional[float] = ..., tracking_error_m: _Optional[float] = ..., mean_jerk: _Optional[float] = ..., joint_limit_violations: _Optional[int] = ..., success_by_skill: _Optional[_Mapping[str, float]] = ...) -> None: ...

class OnboardingJob(_message.Message):
    __slots__ = ("job_id", "robot_id", "state", "stage", "progress", "stage_progress", "eta_s", "message", "report", "model_version", "embodiment_tag", "created_at", "updated_at", "attempts", "options")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ROBOT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    STAGE_PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ETA_S_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    EMBODIMENT_TAG_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    robot_id: str
    state: OnboardingState
    stage: OnboardingStage
    progress: float
    stage_progress: float
    eta_s: float
    message: str
    report: EvaluationReport
    model_version: str
    embodiment_tag: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    attempts: int
    options: OnboardingOptions
    def __init__(self, job_id: _Optional[str] = ..., robot_id: _Optional[str] = ..., state: _Optional[_Union[OnboardingState, str]] = ..., stage: _Optional[_Union[OnboardingStage, str]] = ..., progress: _Optional[float] = ..., stage_progress: _Optional[float] = ..., eta_s: _Optional[float] = ..., message: _Optional[str] = ..., report: _Optional[_Union[EvaluationReport, _Mapping]] = ..., model_version: _Optional[str] = ..., embodiment_tag: _Optional[str] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., attempts: _Optional[int] = ..., options: _Optional[_Union[OnboardingOptions, _Mapping]] = ...) -> None: ...
