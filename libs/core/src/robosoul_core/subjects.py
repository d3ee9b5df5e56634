"""NATS subjects and the identifiers that go into them.

Subjects read broad to narrow so one wildcard scopes a tenant:
``rs.<tenant>.<robot>.<stream>`` for robot traffic and
``rs.svc.<service>.<endpoint>`` for service endpoints. Tenant and robot ids are
validated before they ever reach a subject (no dots, wildcards or spaces).
"""

from __future__ import annotations

import re

from robosoul_core.errors import InvalidArgument

ROOT = "rs"
SERVICE_PREFIX = f"{ROOT}.svc"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
RESERVED_TENANTS = frozenset({"svc"})

# KV buckets.
API_KEYS_BUCKET = "rs_api_keys"
ROBOTS_BUCKET = "rs_robots"
# Object store bucket for observations larger than one NATS message (robosoul_core.frames).
FRAMES_BUCKET = "rs_frames"


def check_id(value: str, what: str) -> str:
    if not ID_PATTERN.match(value or ""):
        raise InvalidArgument(
            f"{what} {value!r} is invalid: use 1-63 characters of lowercase letters, digits and '-', "
            "starting with a letter or digit"
        )
    return value


def check_tenant(tenant: str) -> str:
    check_id(tenant, "tenant")
    if tenant in RESERVED_TENANTS:
        raise InvalidArgument(f"tenant {tenant!r} is reserved")
    return tenant


def service_subject(service: str, endpoint: str) -> str:
    return f"{SERVICE_PREFIX}.{service}.{endpoint}"


def robot_subject(tenant: str, robot_id: str, stream: str) -> str:
    return f"{ROOT}.{check_tenant(tenant)}.{check_id(robot_id, 'robot_id')}.{stream}"


def robot_key(tenant: str, robot_id: str) -> str:
    """Key of a robot in the robots KV bucket: one wildcard lists a tenant."""
    return f"{check_tenant(tenant)}.{check_id(robot_id, 'robot_id')}"


def tenant_key_filter(tenant: str) -> str:
    """KV key filter matching every robot of a tenant."""
    return f"{check_tenant(tenant)}.*"


MOTION_CHUNK = service_subject("motion", "chunk")
LANGUAGE_TURN = service_subject("language", "turn")
# rs.<tenant>.<robot>.scene carries robosoul.v1.Scene (perception or the vendor).
SCENE_STREAM = "scene"
ALL_SCENES = f"{ROOT}.*.*.{SCENE_STREAM}"
