"""Connecting to Temporal the same way everywhere: the pydantic data converter carries
service definitions and commands as typed models, and the payload codec encrypts every
payload, so Temporal holds no personal data (README "Personal data")."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from config.settings import Settings
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
    return await Client.connect(
        settings.temporal.address,
        namespace=settings.temporal.namespace,
        data_converter=data_converter(settings),
    )
