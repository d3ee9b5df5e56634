from google.protobuf import timestamp_pb2 as _timestamp_pb2
from robosoul.v1 import tensor_pb2 as _tensor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReplyStyle(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPLY_STYLE_UNSPECIFIED: _ClassVar[ReplyStyle]
    REPLY_STYLE_NEUTRAL: _ClassVar[ReplyStyle]
    REPLY_STYLE_CALM: _ClassVar[ReplyStyle]
    REPLY_STYLE_CHEERFUL: _ClassVar[ReplyStyle]
    REPLY_STYLE_SYMPATHETIC: _ClassVar[ReplyStyle]
    REPLY_STYLE_EXCITED: _ClassVar[ReplyStyle]
    REPLY_STYLE_SERIOUS: _ClassVar[ReplyStyle]
REPLY_STYLE_UNSPECIFIED: ReplyStyle
REPLY_STYLE_NEUTRAL: ReplyStyle
REPLY_STYLE_CALM: ReplyStyle
REPLY_STYLE_CHEERFUL: ReplyStyle
REPLY_STYLE_SYMPATHETIC: ReplyStyle
REPLY_STYLE_EXCITED: ReplyStyle
REPLY_STYLE_SERIOUS: ReplyStyle

class Emotion(_message.Message):
    __slots__ = ("neutral", "happy", "sad", "angry", "fearful", "surprised", "arousal", "valence")
    NEUTRAL_FIELD_NUMBER: _ClassVar[int]
    HAPPY_FIELD_NUMBER: _ClassVar[int]
    SAD_FIELD_NUMBER: _ClassVar[int]
    ANGRY_FIELD_NUMBER: _ClassVar[int]
    FEARFUL_FIELD_NUMBER: _ClassVar[int]
    SURPRISED_FIELD_NUMBER: _ClassVar[int]
    AROUSAL_FIELD_NUMBER: _ClassVar[int]
    VALENCE_FIELD_NUMBER: _ClassVar[int]
    neutral: float
    happy: float
    sad: float
    angry: float
    fearful: float
    surprised: float
    arousal: float
    valence: float
    def __init__(self, neutral: _Optional[float] = ..., happy: _Optional[float] = ..., sad: _Optional[float] = ..., angry: _Optional[float] = ..., fearful: _Optional[float] = ..., surprised: _Optional[float] = ..., arousal: _Optional[float] = ..., valence: _Optional[float] = ...) -> None: ...

class EmotionTrend(_message.Message):
    __slots__ = ("turns", "valence", "valence_change", "dominant")
    TURNS_FIELD_NUMBER: _ClassVar[int]
    VALENCE_FIELD_NUMBER: _ClassVar[int]
    VALENCE_CHANGE_FIELD_NUMBER: _ClassVar[int]
    DOMINANT_FIELD_NUMBER: _ClassVar[int]
    turns: int
    valence: float
    valence_change: float
    dominant: str
    def __init__(self, turns: _Optional[int] = ..., valence: _Optional[float] = ..., valence_change: _Optional[float] = ..., dominant: _Optional[str] = ...) -> None: ...

class Persona(_message.Message):
    __slots__ = ("name", "personality", "default_style", "voice")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PERSONALITY_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_STYLE_FIELD_NUMBER: _ClassVar[int]
    VOICE_FIELD_NUMBER: _ClassVar[int]
    name: str
    personality: str
    default_style: ReplyStyle
    voice: str
    def __init__(self, name: _Optional[str] = ..., personality: _Optional[str] = ..., default_style: _Optional[_Union[ReplyStyle, str]] = ..., voice: _Optional[str] = ...) -> None: ...

class SceneObject(_message.Message):
    __slots__ = ("object_id", "label", "color", "position", "size_m", "confidence")
    OBJECT_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SIZE_M_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    object_id: str
    label: str
    color: str
    position: _tensor_pb2.Vec3
    size_m: float
    confidence: float
    def __init__(self, object_id: _Optional[str] = ..., label: _Optional[str] = ..., color: _Optional[str] = ..., position: _Optional[_Union[_tensor_pb2.Vec3, _Mapping]] = ..., size_m: _Optional[float] = ..., confidence: _Optional[float] = ...) -> None: ...

class ScenePerson(_message.Message):
    __slots__ = ("person_id", "position", "facing_robot")
    PERSON_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    FACING_ROBOT_FIELD_NUMBER: _ClassVar[int]
    person_id: str
    position: _tensor_pb2.Vec3
    facing_robot: bool
    def __init__(self, person_id: _Optional[str] = ..., position: _Optional[_Union[_tensor_pb2.Vec3, _Mapping]] = ..., facing_robot: bool = ...) -> None: ...

class Scene(_message.Message):
    __slots__ = ("timestamp", "camera", "objects", "people")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    CAMERA_FIELD_NUMBER: _ClassVar[int]
    OBJECTS_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    camera: str
    objects: _containers.RepeatedCompositeFieldContainer[SceneObject]
    people: _containers.RepeatedCompositeFieldContainer[ScenePerson]
    def __init__(self, timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., camera: _Optional[str] = ..., objects: _Optional[_Iterable[_Union[SceneObject, _Mapping]]] = ..., people: _Optional[_Iterable[_Union[ScenePerson, _Mapping]]] = ...) -> None: ...

class UserText(_message.Message):
    __slots__ = ("utterance_id", "text", "emotion")
    UTTERANCE_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    EMOTION_FIELD_NUMBER: _ClassVar[int]
    utterance_id: str
    text: str
    emotion: Emotion
    def __init__(self, utterance_id: _Optional[str] = ..., text: _Optional[str] = ..., emotion: _Optional[_Union[Emotion, _Mapping]] = ...) -> None: ...
