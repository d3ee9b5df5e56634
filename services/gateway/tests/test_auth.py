import pytest

from robosoul.bus.v1 import control_pb2
from robosoul_core.errors import InvalidArgument, PermissionDenied, Unauthenticated
from robosoul_gateway.auth import ApiKeyStore, Principal, key_from_metadata, parse_key

GOOD = "rsk_0123456789abcdef_" + "A" * 43


@pytest.mark.parametrize(
    "key", ["", "rsk_", "rsk_0123456789abcdef", "rsk_0123456789ABCDEF_" + "A" * 43, "rsk_0123456789abcdef_" + "A" * 42,
            "xyz_0123456789abcdef_" + "A" * 43, GOOD + " ", "rsk_0123456789abcdef_" + "!" * 43],
)
def test_malformed_keys_are_refused_before_any_lookup(key):
    with pytest.raises(Unauthenticated, match="malformed API key"):
        parse_key(key)


def test_good_key_parses():
    assert parse_key(GOOD) == ("0123456789abcdef", "A" * 43)


@pytest.mark.parametrize(
    "metadata, result",
    [
        ([("authorization", f"Bearer {GOOD}")], GOOD),
        ([("authorization", f"bearer {GOOD}")], GOOD),
        ([("x-api-key", GOOD)], GOOD),
        ([("other", "x"), ("authorization", f"Bearer {GOOD}")], GOOD),
    ],
)
def test_key_from_metadata(metadata, result):
    assert key_from_metadata(metadata) == result


@pytest.mark.parametrize("metadata, message", [([], "missing API key"), ([("authorization", GOOD)], "Bearer"), ([("authorization", "Basic abc")], "Bearer")])
def test_missing_or_wrong_scheme(metadata, message):
    with pytest.raises(Unauthenticated, match=message):
        key_from_metadata(metadata)


async def test_issue_authenticate_revoke(keys, tenant):
    record, key = await keys.create(tenant, control_pb2.ROLE_VIEWER, "ci")
    principal = await keys.authenticate(key)
    assert principal == Principal(tenant=tenant, key_id=record.key_id, role=control_pb2.ROLE_VIEWER)
    stored = await keys.get(record.key_id)
    secret = key.rsplit("_", 1)[1]
    assert secret.encode() not in stored.SerializeToString()  # only the salted hash is stored
    assert len(stored.salt) == 16 and len(stored.secret_hash) == 32
    await keys.revoke(record.key_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        await keys.authenticate(key)


async def test_wrong_secret_and_unknown_key(keys, tenant):
    record, key = await keys.create(tenant)
    with pytest.raises(Unauthenticated, match="unknown API key"):
        await keys.authenticate(key[:-1] + ("B" if key[-1] != "B" else "C"))
    with pytest.raises(Unauthenticated, match="unknown API key"):
        await keys.authenticate("rsk_ffffffffffffffff_" + "A" * 43)


async def test_cache_expires_so_revocation_takes_effect(nc, keys, tenant):
    clock = {"t": 0.0}
    cached = ApiKeyStore(keys._kv, cache_ttl_s=5.0, clock=lambda: clock["t"])
    record, key = await keys.create(tenant)
    await cached.authenticate(key)
    await keys.revoke(record.key_id)
    clock["t"] = 4.0
    await cached.authenticate(key)  # still cached: revocation is seen within the TTL
    clock["t"] = 5.5
    with pytest.raises(Unauthenticated, match="revoked"):
        await cached.authenticate(key)


async def test_bad_tenant_refused_on_issue(keys):
    with pytest.raises(InvalidArgument):
        await keys.create("Bad Tenant")


def test_viewer_cannot_operate():
    with pytest.raises(PermissionDenied, match="read-only"):
        Principal("t", "k", control_pb2.ROLE_VIEWER).require_operator("registering a robot")
    Principal("t", "k", control_pb2.ROLE_OPERATOR).require_operator("x")
