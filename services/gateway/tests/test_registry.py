import pytest

from robosoul_core import subjects
from robosoul_core.errors import AlreadyExists, InvalidArgument, NotFound
from robosoul_gateway.registry import RobotRegistry
from robosoul_gateway.server import key_value

from .conftest import arm


@pytest.fixture
async def registry(nc):
    return RobotRegistry(await key_value(nc, subjects.ROBOTS_BUCKET, timeout=2))


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
