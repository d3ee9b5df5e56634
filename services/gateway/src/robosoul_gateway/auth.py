"""API keys: issued by an admin command, stored only as salted hashes in JetStream KV.

A key reads ``rsk_<key_id>_<secret>``. The key id locates the record; the
secret (256 random bits) is checked against ``sha256(salt || secret)`` in
constant time. Because the secret is uniformly random, a fast salted hash is
sufficient; a slow password hash would only add latency to every new stream.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import nats.js.errors

from robosoul.bus.v1 import control_pb2
from robosoul_core.clock import now_timestamp
from robosoul_core.errors import NotFound, PermissionDenied, Unauthenticated
from robosoul_core.subjects import check_tenant

KEY_PATTERN = re.compile(r"^rsk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
ALGORITHM = "sha256-salted-v1"


@dataclass(frozen=True)
class Principal:
    tenant: str
    key_id: str
    role: int

    def require_operator(self, action: str) -> None:
        if self.role != control_pb2.ROLE_OPERATOR:
            raise PermissionDenied(f"this API key is read-only (role {control_pb2.Role.Name(self.role)}); {action} needs an operator key")


def hash_secret(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


def parse_key(api_key: str) -> tuple[str, str]:
    match = KEY_PATTERN.match(api_key or "")
    if not match:
        raise Unauthenticated("malformed API key: expected 'rsk_<16 hex>_<43 characters>' as issued by robosoul-admin")
    return match.group(1), match.group(2)


def key_from_metadata(metadata: Iterable[tuple[str, str | bytes]]) -> str:
    """The API key from `authorization: Bearer <key>` or `x-api-key: <key>`."""
    for name, value in metadata or ():
        if isinstance(value, bytes):
            continue
        if name == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise Unauthenticated("authorization metadata must be 'Bearer <api key>'")
            return token.strip()
        if name == "x-api-key":
            return value.strip()
    raise Unauthenticated("missing API key: send metadata 'authorization: Bearer <api key>'")


class ApiKeyStore:
    """Key records in the KV bucket; verified keys are cached for `cache_ttl_s`."""

    def __init__(self, kv, *, cache_ttl_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self._kv = kv
        self._ttl = cache_ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, control_pb2.ApiKeyRecord]] = {}

    async def create(self, tenant: str, role: int = control_pb2.ROLE_OPERATOR, description: str = "") -> tuple[control_pb2.ApiKeyRecord, str]:
        """Issue a key; returns the stored record and the key itself (shown once, never stored)."""
        check_tenant(tenant)
        if role not in (control_pb2.ROLE_OPERATOR, control_pb2.ROLE_VIEWER):
            raise ValueError(f"unknown role {role}")
        key_id, secret, salt = secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_bytes(16)
        created = now_timestamp()
        record = control_pb2.ApiKeyRecord(
            key_id=key_id, tenant=tenant, role=role, salt=salt, secret_hash=hash_secret(salt, secret),
            algorithm=ALGORITHM, created_at=created, description=description[:200],
        )
        await self._kv.create(key_id, record.SerializeToString())
        return record, f"rsk_{key_id}_{secret}"

    async def get(self, key_id: str) -> control_pb2.ApiKeyRecord:
        try:
            entry = await self._kv.get(key_id)
        except (nats.js.errors.KeyNotFoundError, nats.js.errors.KeyDeletedError):
            raise NotFound(f"no API key {key_id}") from None
        return control_pb2.ApiKeyRecord.FromString(entry.value)

    async def revoke(self, key_id: str) -> control_pb2.ApiKeyRecord:
        record = await self.get(key_id)
        record.revoked = True
        await self._kv.put(key_id, record.SerializeToString())
        self._cache.pop(key_id, None)
        return record

    async def list(self, tenant: str | None = None) -> list[control_pb2.ApiKeyRecord]:
        try:
            keys = await self._kv.keys()
        except nats.js.errors.NoKeysError:
            return []
        records = [await self.get(k) for k in keys]
        return [r for r in records if tenant is None or r.tenant == tenant]

    async def authenticate_metadata(self, metadata) -> Principal:
        """The caller of a gRPC call, from its `authorization` metadata."""
        return await self.authenticate(key_from_metadata(metadata))

    async def authenticate(self, api_key: str) -> Principal:
        key_id, secret = parse_key(api_key)
        now = self._clock()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < self._ttl:
            record = cached[1]
        else:
            try:
                record = await self.get(key_id)
            except NotFound:
                raise Unauthenticated("unknown API key") from None
            self._cache[key_id] = (now, record)
        if record.algorithm != ALGORITHM or not hmac.compare_digest(record.secret_hash, hash_secret(record.salt, secret)):
            raise Unauthenticated("unknown API key")
        if record.revoked:
            raise Unauthenticated("this API key has been revoked")
        return Principal(tenant=record.tenant, key_id=record.key_id, role=record.role)
