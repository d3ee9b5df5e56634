"""With a certificate configured the gateway speaks TLS only, and the SDK connects with tls=True."""

import subprocess

import pytest

from robosoul_core.telemetry import ServiceMetrics
from robosoul_gateway.config import GatewayConfig
from robosoul_gateway.server import start_gateway
from robosoul_sdk import RoboSoulClient
from robosoul_sdk.errors import Unavailable


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True,
    )
    return d / "cert.pem", d / "key.pem"


async def test_tls_gateway(nc, certificate, operator_key):
    cert, key = certificate
    config = GatewayConfig(listen="localhost:0", tls_cert_file=str(cert), tls_key_file=str(key))
    gw = await start_gateway(nc, config, ServiceMetrics("gateway"))
    try:
        async with RoboSoulClient(f"localhost:{gw.port}", operator_key, tls=True, root_certificates=cert.read_bytes()) as client:
            assert await client.list_robots() == []
        async with RoboSoulClient(f"localhost:{gw.port}", operator_key, timeout_s=2) as plaintext:
            with pytest.raises(Unavailable):  # refused at the transport level
                await plaintext.list_robots()
    finally:
        await gw.stop(grace=0.1)
