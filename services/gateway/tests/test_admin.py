"""The admin command issues, lists and revokes keys against a real NATS."""

import json

import pytest

from robosoul_gateway import admin


@pytest.fixture
def nats_env(monkeypatch, nats_server):
    monkeypatch.setenv("NATS_URL", nats_server)


def test_create_list_revoke(nats_env, capsys, keys, tenant):
    assert admin.main(["create-key", "--tenant", tenant, "--role", "viewer", "--description", "ci", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["tenant"] == tenant and created["role"] == "viewer" and created["api_key"].startswith("rsk_")

    assert admin.main(["list-keys", "--tenant", tenant]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [k["key_id"] for k in listed] == [created["key_id"]]
    assert "api_key" not in listed[0] and created["api_key"] not in json.dumps(listed)

    assert admin.main(["revoke-key", created["key_id"]]) == 0
    assert "revoked" in capsys.readouterr().out


def test_errors_are_reported_not_raised(nats_env, capsys):
    assert admin.main(["create-key", "--tenant", "Not Valid"]) == 2
    assert "tenant 'Not Valid' is invalid" in capsys.readouterr().err
    assert admin.main(["revoke-key", "ffffffffffffffff"]) == 2
    assert "no API key" in capsys.readouterr().err


def test_unreachable_nats_is_a_clear_error(monkeypatch, capsys):
    from robosoul_devstack.procs import free_port

    monkeypatch.setenv("NATS_URL", f"nats://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NATS_CONNECT_TIMEOUT_S", "0.3")
    assert admin.main(["list-keys"]) == 2
    assert "cannot reach NATS" in capsys.readouterr().err
