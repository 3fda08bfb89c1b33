"""The Temporal connection settings for a cluster (deploy/temporal.yaml): TLS, mutual TLS
and an API key become the SDK's TLSConfig and api_key (config/temporal.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from temporalio.service import TLSConfig

from config.settings import Settings, TemporalSettings, TemporalTLS
from config.temporal import connect, tls_config

ROOT = Path(__file__).resolve().parents[2]


def test_plaintext_by_default_as_for_the_dev_server():
    assert tls_config(TemporalSettings()) is False


def test_mutual_tls_reads_the_pem_files(tmp_path):
    ca, cert, key = (tmp_path / n for n in ("ca.pem", "client.pem", "client.key"))
    ca.write_bytes(b"CA")
    cert.write_bytes(b"CERT")
    key.write_bytes(b"KEY")
    t = TemporalSettings(
        tls=TemporalTLS(
            enabled=True, server_ca=ca, server_name="temporal.internal", client_cert=cert,
            client_key=key,
        )  # fmt: skip
    )
    assert tls_config(t) == TLSConfig(
        server_root_ca_cert=b"CA",
        domain="temporal.internal",
        client_cert=b"CERT",
        client_private_key=b"KEY",
    )


def test_tls_with_the_system_roots():
    assert tls_config(TemporalSettings(tls=TemporalTLS(enabled=True))) == TLSConfig()


def test_an_api_key_turns_tls_on():
    assert tls_config(TemporalSettings(api_key=SecretStr("k" * 40))) == TLSConfig()


def test_a_client_certificate_needs_its_key(tmp_path):
    with pytest.raises(ValidationError, match="client_cert and client_key together"):
        TemporalTLS(enabled=True, client_cert=tmp_path / "client.pem")


def test_the_example_cluster_settings_load(monkeypatch):
    for variable in [v for v in os.environ if v.startswith("LINCAH_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("LINCAH_CONFIG", str(ROOT / "deploy" / "temporal.yaml"))
    monkeypatch.setenv("LINCAH_TEMPORAL__API_KEY", "a-key")
    t = Settings().temporal
    assert t.tls.enabled and t.tls.client_cert == Path("/run/secrets/temporal-client.pem")
    assert t.tls.server_name == "temporal.mpp.example.go.id"
    assert t.namespace == "mpp-banyuwangi" and not t.dev_server.enabled
    assert t.api_key.get_secret_value() == "a-key"
    assert "a-key" not in repr(t)  # never in a log line


async def test_connect_offers_tls_to_a_server_that_speaks_plaintext(dev_env, settings):
    """The setting reaches the wire: a TLS handshake with the plaintext dev server fails,
    where the same address without TLS connects."""
    address = dev_env.client.service_client.config.target_host
    plain = settings.model_copy(update={"temporal": TemporalSettings(address=address)})
    await (await connect(plain)).service_client.check_health()
    tls = settings.model_copy(
        update={"temporal": TemporalSettings(address=address, tls=TemporalTLS(enabled=True))}
    )
    with pytest.raises(RuntimeError):
        await connect(tls)
