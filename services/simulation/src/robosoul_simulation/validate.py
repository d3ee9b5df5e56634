"""Validate a vendor's uploaded MJCF against the embodiment it registered.

    >>> report = validate_model(embodiment)      # robosoul.v1.Embodiment with .model filled
    >>> [list(c.joints) for c in report.chains], list(report.warnings)

Returns a `robosoul.v1.ModelReport` (kinematic chains with end effectors and
grippers, what was assumed or adapted, timestep, actuator count, mass) or raises
`InvalidArgument` saying what is wrong, where, and what to do. Nothing in an upload
can hang, crash or read the service's files:

1. **In this process, without MuJoCo**: sizes (`MAX_*`), then every XML file (the
   MJCF and whatever it includes) through the standard library's expat parser
   hardened by defusedxml: DTDs and entity declarations are refused, never expanded
   (billion laughs, external entities). Every file reference (``file``,
   ``fileright``..., ``<include>``, the compiler's ``meshdir`` / ``texturedir`` /
   ``assetdir``) must be a relative path inside the upload, naming one of the
   uploaded `assets`; plugins (``<extension>``) are refused; element, body, joint,
   geom counts and nesting depth are bounded.
2. **In a child process** (forkserver) with an address-space limit
   (`MEMORY_LIMIT_BYTES`), a CPU-time limit, no file writing, an empty working
   directory and a wall-clock timeout (`TIMEOUT_S`, the parent kills it): MuJoCo
   loads the model from memory only (MjSpec with the uploaded files as its virtual
   file system), the compiled sizes are bounded (mesh vertices, bodies after
   replication), the chains are found (`chains`), the model is adapted to position
   servos (`adapt`), and it is stepped for `SETTLE_S` seconds holding its rest pose
   under gravity: NaN or infinite state, MuJoCo's bad-acceleration warning, a body
   flying off or moving absurdly fast, or runaway kinetic energy refuse it.
3. The registered joints are mapped onto the MJCF's by name: missing joints, type
   mismatches and limit mismatches are all listed in one error.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
import resource
import tempfile
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field

import defusedxml
import defusedxml.ElementTree as SafeET

from robosoul.v1 import onboarding_pb2, robot_pb2
from robosoul_core.errors import InvalidArgument

MAX_MJCF_BYTES = 4 * 1024 * 1024
MAX_UPLOAD_BYTES = 48 * 1024 * 1024
MAX_ASSETS = 256
MAX_XML_FILES = 32
MAX_ELEMENTS = 20_000
MAX_DEPTH = 64
MAX_BODIES = 500
MAX_JOINTS = 300
MAX_GEOMS = 3000
MAX_MESH_VERTICES = 1_000_000
MAX_REPLICATE = 1000
TIMEOUT_S = 30.0
MEMORY_LIMIT_BYTES = 2 * 1024**3
SETTLE_S = 1.5
# Refused as exploding: a body this far from where it started (m), this fast (m/s),
# or this much kinetic energy per kilogram of model (J/kg, i.e. (m/s)^2 / 2).
FLY_AWAY_M = 100.0
MAX_SPEED = 50.0
MAX_ENERGY_PER_KG = 500.0
LIMIT_TOLERANCE = 1e-3
DIR_ATTRIBUTES = ("meshdir", "texturedir", "assetdir")
REFUSED_ELEMENTS = {
    "extension": "plugins load native code; uploads may not use <extension> or <plugin>",
    "plugin": "plugins load native code; uploads may not use <extension> or <plugin>",
    "instance": "plugins load native code; uploads may not use <extension> or <plugin>",
}
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class _Scan:
    elements: int = 0
    bodies: int = 0
    joints: int = 0
    geoms: int = 0
    xml_files: list[str] = field(default_factory=list)
    files: set[str] = field(default_factory=set)


def _mib(n: int) -> str:
    return f"{n / 1024**2:.1f} MiB"


def _describe(el: ET.Element) -> str:
    attrs = " ".join(f'{k}="{v}"' for k, v in list(el.attrib.items())[:3])
    return f"<{el.tag}{' ' + attrs if attrs else ''}>"


def _safe_relative(path: str, what: str) -> str:
    """Normalise an upload-relative path; refuse absolute paths and escapes."""
    p = path.replace("\\", "/")
    if not p or p.startswith("/") or _DRIVE.match(p) or p.startswith("~"):
        raise InvalidArgument(f"{what}: {path!r} is an absolute path; refer to uploaded files by a path relative to the MJCF")
    if ".." in p.split("/"):
        raise InvalidArgument(f"{what}: {path!r} leaves the upload ('..'); refer to uploaded files by a path inside it")
    return posixpath.normpath(p)


def _parse(data: bytes, name: str) -> ET.Element:
    """Parse one XML file safely: no entity expansion, no DTD, no external anything."""
    try:
        SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.EntitiesForbidden as exc:
        if exc.sysid or exc.pubid:
            raise InvalidArgument(
                f"{name}: declares an external entity {exc.name!r} ({exc.sysid or exc.pubid}); external entities are refused "
                "(they read files or URLs); remove the <!DOCTYPE> and its <!ENTITY> declarations"
            ) from None
        raise InvalidArgument(
            f"{name}: declares the entity {exc.name!r}; entities are refused (entity expansion can blow up, e.g. "
            "'billion laughs'); remove the <!DOCTYPE> and its <!ENTITY> declarations"
        ) from None
    except defusedxml.DTDForbidden:
        raise InvalidArgument(f"{name}: has a <!DOCTYPE> declaration; DTDs are refused in uploads; remove it") from None
    except defusedxml.DefusedXmlException as exc:
        raise InvalidArgument(f"{name}: refused XML construct ({exc}); remove it") from None
    except ET.ParseError as exc:
        line, col = exc.position
        reason = str(exc).split(":")[0]
        raise InvalidArgument(f"{name}: not well-formed XML at line {line}, column {col + 1} ({reason}); fix the XML") from None


def _scan(
    root: ET.Element, name: str, assets: Mapping[str, bytes], scan: _Scan, depth: int, dirs: dict[str, str]
) -> None:
    # Counted before walking, so that a flood of bodies is named as such.
    scan.bodies += sum(1 for _ in root.iter("body"))
    scan.joints += sum(1 for e in root.iter() if e.tag in ("joint", "freejoint"))
    scan.geoms += sum(1 for _ in root.iter("geom"))
    for what, count, limit in (("<body>", scan.bodies, MAX_BODIES), ("joint", scan.joints, MAX_JOINTS), ("<geom>", scan.geoms, MAX_GEOMS)):
        if count > limit:
            raise InvalidArgument(f"{name}: {count} {what} elements; the limit is {limit}; simplify the model (one arm needs far fewer)")
    stack = [(root, 1)]
    while stack:
        el, level = stack.pop()
        scan.elements += 1
        if scan.elements > MAX_ELEMENTS:
            raise InvalidArgument(f"{name}: more than {MAX_ELEMENTS} XML elements; the limit keeps validation fast; simplify the model")
        if level > MAX_DEPTH:
            raise InvalidArgument(f"{name}: elements nested more than {MAX_DEPTH} deep (at {_describe(el)}); flatten the model")
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in REFUSED_ELEMENTS:
            raise InvalidArgument(f"{name}: {_describe(el)} is refused: {REFUSED_ELEMENTS[tag]}")
        if tag == "replicate":
            count = el.get("count", "1")
            if not count.strip().isdigit() or int(count) > MAX_REPLICATE:
                raise InvalidArgument(f"{name}: {_describe(el)}: count must be a whole number up to {MAX_REPLICATE}")
        elif tag == "compiler":
            for attr in DIR_ATTRIBUTES:
                if attr in el.attrib:
                    d = _safe_relative(el.attrib[attr], f"{name}: <compiler {attr}>")
                    dirs[attr] = "" if d == "." else d
                    if attr == "assetdir":
                        dirs.setdefault("meshdir", dirs[attr])
                        dirs.setdefault("texturedir", dirs[attr])
        for attr, value in el.attrib.items():
            if attr.startswith("file"):
                _reference(el, attr, value, name, assets, scan, depth, dirs)
        stack.extend((child, level + 1) for child in reversed(list(el)))


def _reference(el: ET.Element, attr: str, value: str, name: str, assets: Mapping[str, bytes], scan: _Scan, depth: int, dirs: dict[str, str]) -> None:
    where = f"{name}: {_describe(el)} {attr}"
    rel = _safe_relative(value, where)
    tag = el.tag
    base = dirs.get("meshdir", "") if tag in ("mesh", "skin", "hfield") else dirs.get("texturedir", "") if tag == "texture" else ""
    candidates = [posixpath.normpath(posixpath.join(base, rel))] if base else [rel]
    found = next((c for c in candidates if c in assets), None)
    if found is None:
        raise InvalidArgument(
            f"{where}: {candidates[0]!r} is not among the uploaded files ({', '.join(sorted(assets)) or 'none uploaded'}); "
            "upload it with the model, under that relative path"
        )
    scan.files.add(found)
    if tag == "include" or (tag == "model" and found.endswith(".xml")):
        if depth >= 8:
            raise InvalidArgument(f"{where}: includes nested more than 8 deep")
        if found in scan.xml_files:
            raise InvalidArgument(f"{where}: {found!r} is included twice (or includes itself)")
        scan.xml_files.append(found)
        if len(scan.xml_files) > MAX_XML_FILES:
            raise InvalidArgument(f"{name}: more than {MAX_XML_FILES} included files")
        sub = _parse(bytes(assets[found]), found)
        if sub.tag != "mujoco":
            raise InvalidArgument(f"{found}: an included file's root element must be <mujoco>, not <{sub.tag}>")
        _scan(sub, found, assets, scan, depth + 1, dirs)


def precheck(mjcf: str, assets: Mapping[str, bytes]) -> _Scan:
    """Checks that need no MuJoCo: sizes, XML safety, file references, counts."""
    size = len(mjcf.encode("utf-8"))
    if size > MAX_MJCF_BYTES:
        raise InvalidArgument(f"the MJCF is {_mib(size)}; the limit is {_mib(MAX_MJCF_BYTES)}; a robot arm's MJCF is a few kB (put meshes in assets)")
    if len(assets) > MAX_ASSETS:
        raise InvalidArgument(f"{len(assets)} asset files; the limit is {MAX_ASSETS}")
    total = size + sum(len(v) for v in assets.values())
    if total > MAX_UPLOAD_BYTES:
        raise InvalidArgument(f"the upload is {_mib(total)} (MJCF and assets); the limit is {_mib(MAX_UPLOAD_BYTES)}; simplify the meshes")
    normalised: dict[str, bytes] = {}
    for key, value in assets.items():
        normalised[_safe_relative(key, "asset name")] = bytes(value)
    if not mjcf.strip():
        raise InvalidArgument("the MJCF is empty; upload the robot's MuJoCo XML")
    root = _parse(mjcf.encode("utf-8"), "MJCF")
    if root.tag != "mujoco":
        hint = " (that is URDF; convert it to MJCF, e.g. with MuJoCo's compile tool)" if root.tag == "robot" else ""
        raise InvalidArgument(f"MJCF: the root element is <{root.tag}>, not <mujoco>{hint}")
    scan = _Scan()
    _scan(root, "MJCF", normalised, scan, 0, {})
    return scan


# -- the child process -----------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    mjcf: str
    assets: dict[str, bytes]
    joints: tuple[tuple[str, int, float, float], ...]  # registered (name, type, min, max)
    ee_site: str
    memory_bytes: int
    cpu_s: int


def _limit(memory_bytes: int, cpu_s: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _child(conn, request: _Request) -> None:
    empty = tempfile.mkdtemp(prefix="rs-validate-")
    try:
        # An empty working directory: a relative path that slipped through finds nothing.
        os.chdir(empty)
        _limit(request.memory_bytes, request.cpu_s)
        conn.send(("ok", _inspect(request)))
    except InvalidArgument as exc:
        conn.send(("invalid", exc.message))
    except MemoryError:
        conn.send(("invalid", f"loading the model needs more than {_mib(request.memory_bytes)} of memory; simplify it"))
    except BaseException as exc:  # noqa: BLE001 - everything a hostile model causes goes back as a message
        conn.send(("invalid", f"MuJoCo failed on the model: {type(exc).__name__}: {exc}".strip() + _where(exc)))
    finally:
        conn.close()
        os.rmdir(empty)


def _where(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    return f" (in {tb[-1].name})" if tb else ""


def _inspect(req: _Request) -> dict:
    import mujoco
    import numpy as np

    from robosoul_simulation.adapt import adapt
    from robosoul_simulation.chains import find_structure

    # MuJoCo prints its warnings; the counters in MjData are what the checks read.
    mujoco.set_mju_user_warning(lambda message: None)
    try:
        spec = mujoco.MjSpec.from_string(req.mjcf, include=req.assets, assets=req.assets)
        model0 = spec.compile()
    except ValueError as exc:
        if "allocate memory" in str(exc):
            raise InvalidArgument(
                f"the model needs more than the {_mib(req.memory_bytes)} of memory validation allows "
                "(<size memory=...>, meshes); make it smaller"
            ) from None
        raise InvalidArgument(f"MuJoCo cannot compile the MJCF: {str(exc).strip()}; fix the model") from None
    m = model0
    for what, count, limit in (("bodies", m.nbody - 1, MAX_BODIES), ("joints", m.njnt, MAX_JOINTS), ("geoms", m.ngeom, MAX_GEOMS), ("mesh vertices", m.nmeshvert, MAX_MESH_VERTICES)):
        if count > limit:
            raise InvalidArgument(f"the compiled model has {count} {what}; the limit is {limit}; simplify the model")
    if m.nu == 0:
        raise InvalidArgument(
            f"the model has no actuators ({m.njnt} joints); RoboSoul drives an arm through one actuator per joint: "
            "add <actuator><position joint=\"...\" kp=\"...\"/> (or <motor>) for every arm joint"
        )
    structure = find_structure(m)
    warnings = [f"{s}; ignored" for s in structure.ignored_actuators]
    if not structure.chains:
        raise InvalidArgument(
            f"no actuated serial chain: none of the {m.nu} actuators drives a hinge or slide joint of an arm "
            "(directly, or a gripper through a tendon); drive each arm joint with its own actuator"
        )
    errors = _match_embodiment(m, req.joints, structure)
    if req.ee_site and mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_SITE, req.ee_site) < 0:
        sites = [m.site(s).name for s in range(m.nsite) if m.site(s).name]
        errors.append(f"end_effector_site {req.ee_site!r} is not a site in the MJCF (its sites: {sites})")
    if errors:
        raise InvalidArgument("the MJCF does not match the registered embodiment: " + "; ".join(errors) + "; fix the model or re-register the robot")

    unlimited_slides = [m.joint(j).name for c in structure.chains for j in c.joints if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_SLIDE and not m.jnt_limited[j]]
    if unlimited_slides:
        raise InvalidArgument(f"slide joints {unlimited_slides} have no range; give every arm joint position limits (range=...)")
    adaptation = adapt(spec, m, structure)
    warnings += adaptation.warnings
    try:
        model = spec.compile() if adaptation.changed else model0
    except ValueError as exc:
        raise InvalidArgument(f"MuJoCo cannot compile the adapted model: {str(exc).strip()}") from None
    _settle(model, structure)

    chains = []
    for c in structure.chains:
        site = model.site(c.ee_site).name if c.ee_site >= 0 else ""
        if req.ee_site and _site_on_chain(model, req.ee_site, c):
            site = req.ee_site
        if not site:
            warnings.append(
                f"chain ending in joint {model.joint(c.joints[-1]).name!r} has no end-effector site; the origin of body "
                f"{model.body(c.ee_body).name!r} stands in (add a <site> there to choose the point)"
            )
        chains.append(
            onboarding_pb2.KinematicChain(
                joints=[model.joint(j).name for j in c.joints],
                end_effector_site=site,
                gripper_joint=model.joint(c.gripper.joint).name if c.gripper is not None else "",
            )
        )
    if len(chains) > 1:
        warnings.append(f"{len(chains)} kinematic chains: onboarding and the virtual robot drive one serial chain, so they refuse this model")
    return {
        "chains": [c.SerializeToString() for c in chains],
        "warnings": warnings,
        "timestep_s": float(model.opt.timestep),
        "actuators": int(model.nu),
        "total_mass_kg": float(np.sum(model.body_mass)),
    }


def _site_on_chain(model, site_name: str, chain) -> bool:
    import mujoco

    s = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, site_name)
    body = int(model.site_bodyid[s])
    tip = int(model.jnt_bodyid[chain.joints[-1]])
    while body > 0:
        if body == tip:
            return True
        body = int(model.body_parentid[body])
    return False


_TYPE_NAMES = {robot_pb2.JOINT_TYPE_REVOLUTE: "REVOLUTE", robot_pb2.JOINT_TYPE_PRISMATIC: "PRISMATIC", robot_pb2.JOINT_TYPE_GRIPPER: "GRIPPER"}


def _match_embodiment(m, joints, structure) -> list[str]:
    import mujoco

    if not joints:
        return []
    hinge, slide = int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE)
    names = [m.joint(j).name for j in range(m.njnt)]
    gripper_joints = {j for g in structure.grippers for j in g.joints}
    actuated = {j for c in structure.chains for j in c.joints} | gripper_joints
    missing = [name for name, *_ in joints if name not in names]
    errors = []
    if missing:
        errors.append(f"registered joints {missing} are not in the MJCF (its joints: {[n for n in names if n]})")
    for name, jtype, lo, hi in joints:
        if name in missing:
            continue
        j = names.index(name)
        kind = int(m.jnt_type[j])
        want = {robot_pb2.JOINT_TYPE_REVOLUTE: (hinge,), robot_pb2.JOINT_TYPE_PRISMATIC: (slide,), robot_pb2.JOINT_TYPE_GRIPPER: (hinge, slide)}.get(jtype, ())
        mjcf_kind = {hinge: "hinge", slide: "slide"}.get(kind, mujoco.mjtJoint(kind).name[6:].lower())
        if kind not in want:
            errors.append(f"joint {name!r} is registered {_TYPE_NAMES.get(jtype, jtype)} but is a {mjcf_kind} joint in the MJCF")
            continue
        if jtype == robot_pb2.JOINT_TYPE_GRIPPER and j not in gripper_joints:
            errors.append(f"joint {name!r} is registered GRIPPER but the MJCF does not make it a gripper (no finger coupling or name)")
        if j not in actuated:
            errors.append(f"joint {name!r} has no actuator in the MJCF")
        if m.jnt_limited[j]:
            mlo, mhi = (float(v) for v in m.jnt_range[j])
            tol = max(LIMIT_TOLERANCE, 0.01 * (mhi - mlo))
            if abs(mlo - lo) > tol or abs(mhi - hi) > tol:
                errors.append(f"joint {name!r} limits differ: registered [{lo:g}, {hi:g}], MJCF range [{mlo:g}, {mhi:g}]")
    return errors


def _settle(model, structure) -> None:
    """Hold the rest pose under gravity for SETTLE_S; refuse what blows up."""
    import mujoco
    import numpy as np

    data = mujoco.MjData(model)
    home = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_KEY, "home")
    if home >= 0:
        mujoco.mj_resetDataKeyframe(model, data, home)
    for c in structure.chains:
        for j, a in zip(c.joints, c.actuators, strict=True):
            if home < 0 and model.jnt_limited[j]:
                data.qpos[model.jnt_qposadr[j]] = float(np.mean(model.jnt_range[j]))
            data.ctrl[a] = data.qpos[model.jnt_qposadr[j]]
    model.opt.enableflags |= int(mujoco.mjtEnableBit.mjENBL_ENERGY)
    mujoco.mj_forward(model, data)
    start = data.xpos.copy()
    mass = max(float(np.sum(model.body_mass)), 1e-6)
    steps = int(round(SETTLE_S / model.opt.timestep))
    names = [model.body(b).name or f"#{b}" for b in range(model.nbody)]
    for k in range(1, steps + 1):
        mujoco.mj_step(model, data)
        t = k * model.opt.timestep
        bad = int(data.warning[mujoco.mjtWarning.mjWARN_BADQACC].number) + int(data.warning[mujoco.mjtWarning.mjWARN_BADQPOS].number) + int(data.warning[mujoco.mjtWarning.mjWARN_BADQVEL].number)
        if bad or not (np.isfinite(data.qpos).all() and np.isfinite(data.qvel).all() and np.isfinite(data.qacc).all()):
            raise InvalidArgument(
                f"the model is numerically unstable: NaN/infinite or rejected accelerations after {t:.3f} s holding its rest pose "
                "under gravity; check masses, inertias, joint stiffness, armature and the timestep"
            )
        if k % 10 and k != steps:
            continue
        speed = np.linalg.norm(data.cvel[:, 3:], axis=1)
        b = int(np.argmax(speed))
        if speed[b] > MAX_SPEED:
            raise InvalidArgument(
                f"the model explodes: body {names[b]!r} reached {speed[b]:.3g} m/s after {t:.2f} s holding its rest pose; "
                "check masses, inertias, contacts and constraints"
            )
        moved = np.linalg.norm(data.xpos - start, axis=1)
        b = int(np.argmax(moved))
        if moved[b] > FLY_AWAY_M:
            raise InvalidArgument(
                f"the model explodes: body {names[b]!r} flew {moved[b]:.3g} m in {t:.2f} s holding its rest pose; "
                "check masses, inertias, contacts and constraints"
            )
        energy = float(data.energy[1])
        if energy > MAX_ENERGY_PER_KG * mass:
            raise InvalidArgument(
                f"the model explodes: kinetic energy {energy:.3g} J after {t:.2f} s holding its rest pose ({mass:.3g} kg); "
                "check masses, inertias, contacts and constraints"
            )


# -- the entry point -------------------------------------------------------------------


def validate_model(
    embodiment: robot_pb2.Embodiment, *, timeout_s: float = TIMEOUT_S, memory_bytes: int = MEMORY_LIMIT_BYTES
) -> onboarding_pb2.ModelReport:
    """Check the embodiment's uploaded model; the report, or InvalidArgument saying what is wrong."""
    from robosoul_simulation.parallel import context

    model = embodiment.model
    if not embodiment.HasField("model") or not model.mjcf:
        raise InvalidArgument("the embodiment has no model.mjcf; upload the robot's MJCF (MuJoCo XML) to validate it")
    assets = {k: bytes(v) for k, v in model.assets.items()}
    scan = precheck(model.mjcf, assets)
    files = {_safe_relative(k, "asset name"): v for k, v in assets.items()}
    joints = tuple((j.name, int(j.type), j.position_limits.min, j.position_limits.max) for j in embodiment.joints)
    request = _Request(
        mjcf=model.mjcf,
        assets={k: files[k] for k in scan.files},
        joints=joints,
        ee_site=model.end_effector_site,
        memory_bytes=memory_bytes,
        cpu_s=max(int(math.ceil(timeout_s)) + 2, 3),
    )
    ctx = context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, request), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout_s):
            raise InvalidArgument(
                f"validation did not finish in {timeout_s:g} s (loading the model and {SETTLE_S:g} s of simulation); "
                "the model is too large or too slow to simulate; simplify it"
            )
        try:
            status, payload = parent.recv()
        except EOFError:
            proc.join(5)
            code = proc.exitcode
            raise InvalidArgument(
                f"MuJoCo crashed on the model (validation process exit code {code}"
                f"{', killed: out of memory or CPU time' if code in (-9, -24) else ''}); simplify or fix the model"
            ) from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
    if status != "ok":
        raise InvalidArgument(payload)
    report = onboarding_pb2.ModelReport(
        warnings=payload["warnings"],
        timestep_s=payload["timestep_s"],
        actuators=payload["actuators"],
        total_mass_kg=payload["total_mass_kg"],
    )
    for raw in payload["chains"]:
        report.chains.add().ParseFromString(raw)
    return report
