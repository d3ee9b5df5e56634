import uuid

import pytest

from robosoul.v1 import robot_pb2
from robosoul_core import subjects
from robosoul_core.bus import connect, key_value
from robosoul_core.config import NatsConfig
from robosoul_core.errors import AlreadyExists, InvalidArgument, NotFound
from robosoul_core.registry import RobotRegistry


def arm(robot_id: str = "arm-1") -> robot_pb2.Robot:
    joints = [robot_pb2.Joint(name=f"j{i}", type=robot_pb2.JOINT_TYPE_REVOLUTE, position_limits=robot_pb2.Range(min=-2, max=2), max_velocity=2) for i in range(3)]
    return robot_pb2.Robot(robot_id=robot_id, embodiment=robot_pb2.Embodiment(joints=joints, control_rate_hz=50))


@pytest.fixture
def tenant():
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def registry(nats_server):
    nc = await connect(NatsConfig(url=nats_server), "registry-tests")
    yield RobotRegistry(await key_value(nc, subjects.ROBOTS_BUCKET, timeout=2))
    await nc.close()


async def test_create_get_delete(registry, tenant):
    stored = await registry.create(tenant, arm("a1"))
    assert stored.created_at.seconds > 0
    assert (await registry.get(tenant, "a1")).embodiment == arm().embodiment
    with pytest.raises(AlreadyExists, match="already registered"):
        await registry.create(tenant, arm("a1"))
    await registry.delete(tenant, "a1")
    with pytest.raises(NotFound):
        await registry.get(tenant, "a1")
    with pytest.raises(NotFound):
        await registry.delete(tenant, "a1")


async def test_tenants_do_not_see_each_other(registry, tenant):
    other = tenant + "-other"
    await registry.create(tenant, arm("shared-name"))
    with pytest.raises(NotFound):
        await registry.get(other, "shared-name")
    await registry.create(other, arm("shared-name"))  # same id, other tenant: independent
    assert [r.robot_id for r in (await registry.list(other))[0]] == ["shared-name"]


async def test_list_pages_in_id_order(registry, tenant):
    for i in (3, 1, 4, 0, 2):
        await registry.create(tenant, arm(f"r{i}"))
    page, token = await registry.list(tenant, page_size=2)
    assert [r.robot_id for r in page] == ["r0", "r1"] and token == "r1"
    page, token = await registry.list(tenant, page_size=2, page_token=token)
    assert [r.robot_id for r in page] == ["r2", "r3"]
    page, token = await registry.list(tenant, page_size=2, page_token=token)
    assert [r.robot_id for r in page] == ["r4"] and token == ""
    assert (await registry.list(tenant + "-empty"))[0] == []
    with pytest.raises(InvalidArgument, match="page_size"):
        await registry.list(tenant, page_size=101)


async def test_list_is_complete_and_leaves_out_deleted_robots(registry, tenant):
    # More robots than one fetch (256) and than one page; lists are repeated because an
    # earlier watch-based list sometimes came back short when the client lagged the server.
    import asyncio

    await asyncio.gather(*(registry.create(tenant, arm(f"r{i:03d}")) for i in range(300)))
    for i in range(0, 300, 7):
        await registry.delete(tenant, f"r{i:03d}")
    expected = [f"r{i:03d}" for i in range(300) if i % 7]
    for _ in range(5):
        seen, token = [], ""
        while True:
            page, token = await registry.list(tenant, page_size=100, page_token=token)
            seen += [r.robot_id for r in page]
            if not token:
                break
        assert seen == expected


async def test_modify_is_compare_and_set_and_changes_are_streamed(registry, tenant):
    await registry.create(tenant, arm("m1"))
    seen = []

    async def follow():
        async for change in registry.changes():
            seen.append(change)
            if len(seen) == 3:
                return

    import asyncio

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.2)  # the watch delivers what existed before it, then only changes

    async def tag(value):
        def change(robot):
            robot.embodiment.embodiment_tag = value

        return await registry.modify(tenant, "m1", change)

    # two concurrent writers: both land, neither overwrites the other blindly
    results = await asyncio.gather(tag("first"), tag("second"))
    assert {r.embodiment.embodiment_tag for r in results} == {"first", "second"}
    await registry.delete(tenant, "m1")
    await asyncio.wait_for(follower, 5)
    assert [(t, rid) for t, rid, _ in seen] == [(tenant, "m1")] * 3
    assert seen[-1][2] is None  # the deletion
    assert {seen[0][2].embodiment.embodiment_tag, seen[1][2].embodiment.embodiment_tag} == {"first", "second"}
    with pytest.raises(NotFound):
        await registry.modify(tenant, "m1", lambda r: None)
