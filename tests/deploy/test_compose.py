"""deploy/compose.yaml as `docker compose config` would check it, without a container
runtime: valid against the Compose Specification's schema (vendored, see
compose_spec.README.md), every reference resolvable, every Lincah variable a real
setting, and the settings each Lincah container gets pass production's checks."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import secrets
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel

from config.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCHEMA = Path(__file__).parent / "compose_spec.json"
SCHEMA_SHA256 = "0dc04bd346dcfee1b1419628fff79937bbf076925f298f272a2b490e2b112bac"
PARTS = {
    "postgresql", "temporal", "temporal-ui", "api-1", "api-2", "worker-1", "worker-2",
    "projector", "notifier", "face-worker", "designer", "portal", "proxy",
}  # fmt: skip
NOT_SETTINGS = {"LINCAH_CONFIG"}
"""Read before the settings are: which YAML file they come from."""
_VAR = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def env_example() -> dict[str, str]:
    lines = (DEPLOY / "env.example").read_text().splitlines()
    pairs = [ln.split("=", 1) for ln in lines if ln.strip() and not ln.startswith("#")]
    return {k: v for k, v in pairs}


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, as `docker compose config`
    does them; a required variable missing from ``env`` fails with its message."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        name, how, rest = m.groups()
        if env.get(name):
            return env[name]
        if how == "?":
            raise AssertionError(f"{name} is required ({rest}) but deploy/env.example lacks it")
        return rest or ""

    return _VAR.sub(one, value)


def setting_exists(variable: str) -> bool:
    """Whether ``LINCAH_A__B`` names a field of Settings (nested with ``__``)."""
    model: type[BaseModel] = Settings
    parts = variable.removeprefix("LINCAH_").lower().split("__")
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if i < len(parts) - 1:
            if not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
                return False
            model = field.annotation
    return True


def lincah_services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in doc["services"].items()
        if svc.get("build", {}).get("dockerfile") == "deploy/Dockerfile"
    }


def test_the_vendored_schema_is_the_one_documented():
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def _validate(doc: dict[str, Any]) -> list[str]:
    doc = copy.deepcopy(doc)
    # `name` is newer than the vendored schema revision (compose_spec.README.md).
    assert isinstance(doc.pop("name", ""), str)
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


def test_the_compose_file_follows_the_compose_specification():
    assert _validate(compose()) == []


def test_the_schema_check_catches_a_misspelt_key():
    doc = compose()
    doc["services"]["api-1"]["healthchek"] = doc["services"]["api-1"].pop("healthcheck")
    assert any("healthchek" in problem for problem in _validate(doc))


def test_every_part_is_there_with_a_healthcheck_and_what_it_names_exists():
    doc = compose()
    services = doc["services"]
    assert set(services) == PARTS
    for name, svc in services.items():
        assert "test" in svc.get("healthcheck", {}), f"{name} has no healthcheck"
        for needed in svc.get("depends_on", {}):
            assert needed in services, f"{name} depends on {needed}, which is no service"
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists() or source in ("./certs",), volume
            else:
                assert source in doc["volumes"], f"{name} mounts {source}, which is no volume"
        for secret in svc.get("secrets", []):
            assert secret in doc["secrets"], f"{name} reads secret {secret}, which is not declared"
        build = svc.get("build")
        if build:
            assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
            target = build.get("target")
            dockerfile = (DEPLOY / build["context"] / build["dockerfile"]).read_text()
            assert re.search(rf"^FROM .* AS {target}$", dockerfile, re.M), target


def test_only_the_proxy_is_reachable_from_the_network():
    for name, svc in compose()["services"].items():
        for port in svc.get("ports", []):
            if name != "proxy":
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_the_proxy_serves_the_api_from_both_processes_and_never_its_metrics():
    caddy = (DEPLOY / "Caddyfile").read_text()
    services = compose()["services"]
    for host in re.findall(r"reverse_proxy ((?:[\w-]+:\d+ ?)+)", caddy):
        for upstream in host.split():
            assert upstream.split(":")[0] in services, upstream
    api = caddy[caddy.index("(lincah_api) {") :]
    api = api[: api.index("\n}\n")]
    assert "reverse_proxy api-1:8000 api-2:8000" in api
    assert api.index("respond @metrics 404") < api.index("reverse_proxy")
    assert "@metrics path /metrics /metrics/*" in api
    assert "health_uri /ready" in api
    # The API is reached only through that block.
    assert caddy.count("api-1:8000") == 1


def test_every_lincah_variable_is_a_setting():
    doc = compose()
    seen = set()
    for name, svc in lincah_services(doc).items():
        for variable in svc["environment"]:
            if variable.startswith("LINCAH_") and variable not in NOT_SETTINGS:
                assert setting_exists(variable), f"{name}: {variable} is no setting of Lincah"
                seen.add(variable)
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for variable in re.findall(r"\b(LINCAH_\w+)=", dockerfile):
        assert variable in NOT_SETTINGS or setting_exists(variable), variable
    assert "LINCAH_TEMPORAL__ADDRESS" in seen


def test_the_check_of_variables_can_fail():
    assert setting_exists("LINCAH_TEMPORAL__TLS__CLIENT_CERT")
    assert not setting_exists("LINCAH_TEMPORAL__ADRESS")
    assert not setting_exists("LINCAH_API_PORT__X")
    assert not setting_exists("LINCAH_NO_SUCH_THING")


@pytest.mark.parametrize("service", sorted(lincah_services(compose())))
def test_each_lincah_container_starts_with_production_settings(
    service, monkeypatch, tmp_path
):
    """The container's environment, its ${...} filled from deploy/env.example with
    random secrets, loads through Settings with production's checks on."""
    example = env_example()
    values = {k: v or secrets.token_urlsafe(48) for k, v in example.items()}
    environment = interpolate(lincah_services(compose())[service]["environment"], values)
    key = tmp_path / "document-signing-key.pem"
    key.write_text("a key")
    for variable in [v for v in os.environ if v.startswith("LINCAH_")]:
        monkeypatch.delenv(variable)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, str(value))
    monkeypatch.setenv("LINCAH_CONFIG", str(ROOT / "temporal.yaml"))
    monkeypatch.setenv("LINCAH_DOCUMENT_KEY_PATH", str(key))  # the secret's mount point
    monkeypatch.setenv("LINCAH_VAR_DIR", str(tmp_path / "var"))
    s = Settings()
    assert s.environment == "production"
    assert s.temporal.address == "temporal:7233"
    assert not s.temporal.dev_server.enabled
    assert s.eventstore == "postgres" and s.eventstore_url.startswith("postgresql://lincah:")
    assert s.health_port == 9464 and s.health_host == "0.0.0.0"
    assert s.metrics_token == values["LINCAH_METRICS_TOKEN"]
