"""Robots per tenant, in the JetStream KV bucket rs_robots under ``<tenant>.<robot_id>``.

Shared by the gateway (which serves it) and the services that change a robot
(onboarding assigns its policy). Writers use compare-and-set on the KV revision.

A robot of another tenant is simply not in the caller's key space, so a
cross-tenant read or drive answers NOT_FOUND: the API never confirms that
another tenant's robot exists.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import nats.js.errors

from robosoul.v1 import robot_pb2
from robosoul_core import bus
from robosoul_core.clock import now_timestamp
from robosoul_core.errors import AlreadyExists, InvalidArgument
from robosoul_core.subjects import robot_key, tenant_key_filter

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50


class RobotRegistry:
    def __init__(self, kv, *, timeout_s: float = 2.0):
        self._kv = kv
        self._timeout = timeout_s

    async def create(self, tenant: str, robot: robot_pb2.Robot) -> robot_pb2.Robot:
        stored = robot_pb2.Robot()
        stored.CopyFrom(robot)
        stored.created_at.CopyFrom(now_timestamp())
        try:
            await asyncio.wait_for(self._kv.create(robot_key(tenant, robot.robot_id), stored.SerializeToString()), self._timeout)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise AlreadyExists(f"robot {robot.robot_id!r} is already registered; delete it first or use another robot_id") from None
        return stored

    async def get(self, tenant: str, robot_id: str) -> robot_pb2.Robot:
        robot, _ = await bus.kv_read(
            self._kv, robot_key(tenant, robot_id), robot_pb2.Robot, timeout=self._timeout, missing=f"no robot {robot_id!r} in your tenant"
        )
        return robot

    async def delete(self, tenant: str, robot_id: str) -> None:
        await self.get(tenant, robot_id)
        await asyncio.wait_for(self._kv.delete(robot_key(tenant, robot_id)), self._timeout)

    async def modify(self, tenant: str, robot_id: str, change: Callable[[robot_pb2.Robot], None], *, attempts: int = 5) -> robot_pb2.Robot:
        """Apply `change` to the stored robot atomically (compare-and-set, retried on a concurrent write)."""
        return await bus.kv_modify(
            self._kv, robot_key(tenant, robot_id), robot_pb2.Robot, change, timeout=self._timeout,
            missing=f"no robot {robot_id!r} in your tenant", what=f"robot {robot_id!r}", attempts=attempts,
        )

    async def changes(self) -> AsyncIterator[tuple[str, str, robot_pb2.Robot | None]]:
        """(tenant, robot_id, robot or None when deleted) for every change from now on."""
        watcher = await self._kv.watch(">")
        current_done = False
        try:
            while True:
                entry = await watcher.updates(timeout=None)
                if entry is None:
                    current_done = True  # the end of what existed before the watch
                    continue
                if not current_done:
                    continue
                tenant, _, robot_id = entry.key.partition(".")
                deleted = entry.operation in ("DEL", "PURGE") or not entry.value
                yield tenant, robot_id, None if deleted else robot_pb2.Robot.FromString(entry.value)
        finally:
            await watcher.stop()

    async def list(self, tenant: str, page_size: int = 0, page_token: str = "") -> tuple[list[robot_pb2.Robot], str]:
        """One page of the tenant's robots, ordered by robot_id; the token is the last id returned."""
        size = page_size or DEFAULT_PAGE_SIZE
        if size > MAX_PAGE_SIZE:
            raise InvalidArgument(f"page_size {page_size} exceeds {MAX_PAGE_SIZE}")
        robots = await asyncio.wait_for(self._all(tenant), self._timeout)
        robots.sort(key=lambda r: r.robot_id)
        if page_token:
            robots = [r for r in robots if r.robot_id > page_token]
        page = robots[:size]
        next_token = page[-1].robot_id if len(robots) > size else ""
        return page, next_token

    async def _all(self, tenant: str) -> list[robot_pb2.Robot]:
        values = await bus.kv_values(self._kv, tenant_key_filter(tenant), timeout=self._timeout)
        return [robot_pb2.Robot.FromString(v) for v in values]
