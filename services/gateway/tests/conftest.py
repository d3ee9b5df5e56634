import uuid

import grpc
import pytest

from robosoul.bus.v1 import control_pb2
from robosoul.v1 import robot_pb2, robot_service_pb2_grpc
from robosoul_core import bus, subjects
from robosoul_core.bus import key_value
from robosoul_core.config import NatsConfig
from robosoul_core.telemetry import ServiceMetrics
from robosoul_gateway.auth import ApiKeyStore
from robosoul_gateway.config import GatewayConfig
from robosoul_gateway.server import start_gateway


@pytest.fixture
async def nc(nats_server):
    conn = await bus.connect(NatsConfig(url=nats_server), "gateway-tests")
    yield conn
    await conn.close()


@pytest.fixture
async def keys(nc):
    return ApiKeyStore(await key_value(nc, subjects.API_KEYS_BUCKET, timeout=2), cache_ttl_s=0)


@pytest.fixture
def tenant():
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def gateway(nc):
    config = GatewayConfig(listen="127.0.0.1:0", max_messages_per_s=200, motion_timeout_s=0.5, max_message_bytes=256 << 10, max_frame_bytes=128 << 10)
    gw = await start_gateway(nc, config, ServiceMetrics("gateway"))
    yield gw
    await gw.stop(grace=0.5)


@pytest.fixture
async def stub(gateway):
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}")
    yield robot_service_pb2_grpc.RobotServiceStub(channel)
    await channel.close()


def auth(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


def arm(robot_id: str = "arm-1", **labels) -> robot_pb2.Robot:
    joints = [
        robot_pb2.Joint(name=f"j{i}", type=robot_pb2.JOINT_TYPE_REVOLUTE, position_limits=robot_pb2.Range(min=-2, max=2), max_velocity=2)
        for i in range(3)
    ]
    return robot_pb2.Robot(
        robot_id=robot_id, labels=labels,
        embodiment=robot_pb2.Embodiment(
            joints=joints, control_rate_hz=50, embodiment_tag="rs-arm4",
            cameras=[robot_pb2.CameraSpec(name="front", width=4, height=2, fps=5)],
            microphone=robot_pb2.AudioDeviceSpec(name="mic", sample_rate_hz=16000, channels=1),
        ),
    )


@pytest.fixture
async def operator_key(keys, tenant):
    _, key = await keys.create(tenant, control_pb2.ROLE_OPERATOR)
    return key


@pytest.fixture
async def viewer_key(keys, tenant):
    _, key = await keys.create(tenant, control_pb2.ROLE_VIEWER)
    return key
