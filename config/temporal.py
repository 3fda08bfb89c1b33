"""Connecting to Temporal the same way everywhere: the pydantic data converter carries
service definitions and commands as typed models, and the payload codec encrypts every
payload, so Temporal holds no personal data (README "Personal data"); TLS, mTLS and an
API key for a cluster (README "Production deployment"); tracing when it is on
(``config.telemetry``)."""

from __future__ import annotations

import dataclasses
from functools import cache

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from config import telemetry
from config.settings import Settings, TemporalSettings
from crypto.payload_codec import EncryptionCodec


def data_converter(settings: Settings) -> DataConverter:
    """The one converter of every client, worker and replayer. Failure messages and
    stack traces go encrypted too (they may quote a form's values)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(settings.payload_key_ring()),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


async def connect(settings: Settings) -> Client:
    t = settings.temporal
    return await Client.connect(
        t.address,
        namespace=t.namespace,
        data_converter=data_converter(settings),
        tls=tls_config(t),
        api_key=t.api_key.get_secret_value() or None,
        interceptors=telemetry.temporal_interceptors(),
        runtime=sdk_runtime(settings.health_host, settings.temporal_metrics_port),
    )


def tls_config(t: TemporalSettings) -> TLSConfig | bool:
    """The SDK's TLS settings from ``temporal.tls``; False (plaintext, the dev server)
    unless TLS is enabled or an API key is set (keys travel over TLS only)."""
    tls = t.tls
    if not tls.enabled and not t.api_key.get_secret_value():
        return False
    return TLSConfig(
        server_root_ca_cert=tls.server_ca.read_bytes() if tls.server_ca else None,
        domain=tls.server_name or None,
        client_cert=tls.client_cert.read_bytes() if tls.client_cert else None,
        client_private_key=tls.client_key.read_bytes() if tls.client_key else None,
    )


@cache
def sdk_runtime(host: str, metrics_port: int) -> Runtime | None:
    """One SDK runtime per process serving the SDK's own Prometheus metrics on
    ``host:metrics_port``; None (the SDK's default runtime) for port 0."""
    if not metrics_port:
        return None
    return Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(
                bind_address=f"{host}:{metrics_port}", durations_as_seconds=True
            )
        )
    )
