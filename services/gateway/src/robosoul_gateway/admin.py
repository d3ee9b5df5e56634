"""Admin command for API keys (needs NATS access, not an API key).

    robosoul-admin create-key --tenant acme [--role viewer] [--description "CI"]
    robosoul-admin list-keys [--tenant acme]
    robosoul-admin revoke-key KEY_ID

The key is printed once and never stored: only its salted hash is kept.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from robosoul.bus.v1 import control_pb2
from robosoul_core import bus, subjects
from robosoul_core.bus import key_value
from robosoul_core.config import NatsConfig
from robosoul_core.errors import RoboSoulError
from robosoul_gateway.auth import ApiKeyStore

ROLES = {"operator": control_pb2.ROLE_OPERATOR, "viewer": control_pb2.ROLE_VIEWER}


async def open_store(nats_config: NatsConfig) -> tuple[object, ApiKeyStore]:
    nc = await bus.connect(nats_config, "robosoul-admin")
    return nc, ApiKeyStore(await key_value(nc, subjects.API_KEYS_BUCKET, timeout=nats_config.request_timeout_s * 5), cache_ttl_s=0)


def _describe(r: control_pb2.ApiKeyRecord) -> dict:
    return {
        "key_id": r.key_id, "tenant": r.tenant, "role": control_pb2.Role.Name(r.role)[5:].lower(),
        "created_at": r.created_at.ToJsonString(), "revoked": r.revoked, "description": r.description,
    }


async def run(args: argparse.Namespace, nats_config: NatsConfig) -> int:
    nc, store = await open_store(nats_config)
    try:
        if args.command == "create-key":
            record, key = await store.create(args.tenant, ROLES[args.role], args.description)
            if args.json:
                print(json.dumps({**_describe(record), "api_key": key}))
            else:
                print(f"API key for tenant {record.tenant} ({args.role}), shown once — store it now:\n{key}")
        elif args.command == "list-keys":
            for record in await store.list(args.tenant):
                print(json.dumps(_describe(record)))
        elif args.command == "revoke-key":
            record = await store.revoke(args.key_id)
            print(f"revoked {record.key_id} (tenant {record.tenant})")
    finally:
        await nc.close()
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="robosoul-admin", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-key", help="issue an API key for a tenant")
    create.add_argument("--tenant", required=True)
    create.add_argument("--role", choices=sorted(ROLES), default="operator")
    create.add_argument("--description", default="")
    create.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
    listing = sub.add_parser("list-keys", help="list keys (never their secrets)")
    listing.add_argument("--tenant")
    revoke = sub.add_parser("revoke-key", help="revoke a key by its id")
    revoke.add_argument("key_id")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return asyncio.run(run(args, NatsConfig.from_env(os.environ)))
    except RoboSoulError as err:
        print(f"robosoul-admin: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
