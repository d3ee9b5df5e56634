"""Emotion from words, and the checks on emotion, scene, persona and text messages."""

import pytest

from robosoul.v1 import dialogue_pb2
from robosoul.v1.tensor_pb2 import Vec3
from robosoul_core.affect import EMOTIONS, top_emotion, validate_emotion, word_emotion
from robosoul_core.errors import InvalidArgument
from robosoul_core.validation import validate_persona, validate_scene, validate_user_text


@pytest.mark.parametrize("text, expected", [
    ("I feel so sad and lonely today", "sad"),
    ("I'm not happy at all", "sad"),
    ("I am so happy, I got the job!", "happy"),
    ("This is useless, you stupid robot!", "angry"),
    ("I am really nervous about my exam tomorrow", "fearful"),
    ("Wow, I did not expect that!", "surprised"),
    ("pick up the red cube", "neutral"),
    ("put the blue block in the bin", "neutral"),  # "blue" and "block" are things here, not feelings
    ("what do you see", "neutral"),
])
def test_word_emotion_top_label(text, expected):
    emotion = word_emotion(text)
    assert top_emotion(emotion) == expected
    validate_emotion(emotion)  # always a valid message


def test_valence_sign_follows_the_words():
    assert word_emotion("this is wonderful").valence > 0.3 > -0.3 > word_emotion("this is terrible").valence


def _emotion(**values):
    base = {e: 0.0 for e in EMOTIONS} | {"neutral": 1.0}
    return dialogue_pb2.Emotion(**(base | values))


@pytest.mark.parametrize("emotion, message", [
    (_emotion(neutral=0.5), "sum to 1"),
    (_emotion(neutral=-0.5, happy=1.5), "within 0..1"),
    (_emotion(arousal=1.5), "arousal"),
    (_emotion(valence=-2.0), "valence"),
    (_emotion(neutral=float("nan")), "within 0..1"),
])
def test_bad_emotions(emotion, message):
    with pytest.raises(InvalidArgument, match=message):
        validate_emotion(emotion)


def _scene(**obj):
    base = {"object_id": "o1", "label": "cube", "color": "red", "position": Vec3(x=0.3), "size_m": 0.04, "confidence": 0.9}
    return dialogue_pb2.Scene(objects=[dialogue_pb2.SceneObject(**(base | obj))])


@pytest.mark.parametrize("scene, message", [
    (_scene(object_id=""), "object_id"),
    (_scene(object_id="a b"), "object_id"),
    (_scene(label=""), "label is empty"),
    (_scene(label="Cube!"), "lowercase words"),
    (_scene(color="x" * 40), "lowercase words"),
    (_scene(position=Vec3(x=float("inf"))), "finite"),
    (_scene(position=Vec3(z=50.0)), "metres"),
    (_scene(size_m=-1.0), "size_m"),
    (_scene(confidence=2.0), "confidence"),
    (dialogue_pb2.Scene(objects=[_scene().objects[0]] * 2), "appears twice"),
    (dialogue_pb2.Scene(objects=[dialogue_pb2.SceneObject(object_id=f"o{i}", label="cube") for i in range(65)]), "at most 64"),
    (dialogue_pb2.Scene(people=[dialogue_pb2.ScenePerson(person_id="p")] * 2), "unique"),
    (dialogue_pb2.Scene(camera="front cam"), "camera"),
])
def test_bad_scenes(scene, message):
    with pytest.raises(InvalidArgument, match=message):
        validate_scene(scene)


def test_good_scene_passes():
    validate_scene(_scene())


@pytest.mark.parametrize("persona, message", [
    (dialogue_pb2.Persona(name="x" * 41), "name"),
    (dialogue_pb2.Persona(name="  "), "name"),
    (dialogue_pb2.Persona(name="Pip\x07"), "control characters"),
    (dialogue_pb2.Persona(personality="x" * 401), "personality"),
    (dialogue_pb2.Persona(default_style=99), "ReplyStyle"),
    (dialogue_pb2.Persona(voice="../etc"), "voice"),
])
def test_bad_personas(persona, message):
    with pytest.raises(InvalidArgument, match=message):
        validate_persona(persona)


@pytest.mark.parametrize("text, message", [
    (dialogue_pb2.UserText(utterance_id="u", text=""), "empty"),
    (dialogue_pb2.UserText(utterance_id="", text="hi"), "utterance_id"),
    (dialogue_pb2.UserText(utterance_id="u", text="é" * 2001), "at most 2000"),
    (dialogue_pb2.UserText(utterance_id="u", text="hi", emotion=_emotion(neutral=0.2)), "sum to 1"),
])
def test_bad_user_text(text, message):
    with pytest.raises(InvalidArgument, match=message):
        validate_user_text(text)
