"""docker-compose.yml, the Dockerfile and the proxy config, checked by reading them (Docker does not run here).

The compose file is interpolated the way Compose does it (``${VAR}``, ``${VAR:-default}``, ``${VAR:?message}``)
and then checked for what a deployment relies on: services, wiring, healthchecks and secrets.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from intake.settings import Settings

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
ENV = {"POSTGRES_PASSWORD": "pg-Secret_1", "INTAKE_SECRET_KEY": "k" * 48}

_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution (the subset this file uses)."""

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group("name"), m.group("op"), m.group("arg")
        value = env.get(name)
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg
        return value or ""

    return _VAR.sub(sub, text.replace("$$", "\0")).replace("\0", "$")


def _walk(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {k: _walk(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, env) for v in node]
    return node


def load(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Parse, then substitute variables in the values (as Compose does: a blank value stays a string)."""
    raw = YAML(typ="safe", pure=True).load(COMPOSE.read_text(encoding="utf-8"))
    data: dict[str, Any] = _walk(raw, ENV if env is None else env)
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    s: dict[str, Any] = compose["services"]
    return s


def test_the_services_of_a_deployment(services: dict[str, Any]) -> None:
    assert set(services) == {"app", "migrate", "proxy", "redis", "postgres"}


def test_required_secrets_must_be_set_and_are_never_written_in_the_file() -> None:
    missing = []
    for name in ENV:
        with pytest.raises(MissingVariable) as err:
            load({k: v for k, v in ENV.items() if k != name})
        missing.append(str(err.value).split(":")[0])
    assert missing == list(ENV)
    # Every secret-looking setting is a reference to the environment, never a literal.
    raw = YAML(typ="safe", pure=True).load(COMPOSE.read_text(encoding="utf-8"))
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search("SECRET|TOKEN|PASSWORD", key):
                assert re.fullmatch(r"\$\{[A-Z_]+(:[-?][^}]*)?\}", str(value)), (name, key)


def test_app_scales_without_a_fixed_name_or_host_port(services: dict[str, Any]) -> None:
    app = services["app"]
    assert "container_name" not in app
    assert "ports" not in app
    assert int(app["deploy"]["replicas"]) >= 2
    assert int(load({**ENV, "INTAKE_REPLICAS": "5"})["services"]["app"]["deploy"]["replicas"]) == 5
    for service in services.values():
        assert "container_name" not in service


def test_only_the_proxy_publishes_a_port(services: dict[str, Any]) -> None:
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["ports"] == ["8000:8080"]
    assert load({**ENV, "INTAKE_PORT": "9000"})["services"]["proxy"]["ports"] == ["9000:8080"]


def test_proxy_forwards_to_the_app_port_and_follows_scaling(services: dict[str, Any]) -> None:
    mounts = services["proxy"]["volumes"]
    conf_mount = next(m for m in mounts if m.endswith("/etc/nginx/conf.d/default.conf:ro"))
    conf = (REPO / conf_mount.split(":")[0]).read_text(encoding="utf-8")
    command = services["app"]["command"]
    port = command[command.index("--port") + 1]
    assert f"http://app:{port}" in conf
    assert re.search(r"resolver 127\.0\.0\.11 valid=\d+s", conf)  # re-resolves the replicas' addresses
    assert "listen 8080;" in conf
    assert "proxy_set_header X-Forwarded-Proto" in conf and "proxy_set_header X-Forwarded-For" in conf
    assert "access_log off;" in conf


def test_app_runs_the_console_script_on_all_interfaces_without_migrating(services: dict[str, Any]) -> None:
    command = services["app"]["command"]
    assert command[:2] == ["intake", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert "--no-migrate" in command


def test_migrations_run_once_before_the_app(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["intake", "db", "upgrade"]
    assert migrate["restart"] == "no"
    assert "deploy" not in migrate
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # The one-shot step sees the same database and image as the app.
    assert migrate["environment"] == services["app"]["environment"]
    assert migrate["image"] == services["app"]["image"]


def test_app_waits_for_healthy_redis_and_postgres(services: dict[str, Any]) -> None:
    deps = services["app"]["depends_on"]
    assert deps["redis"]["condition"] == "service_healthy"
    assert deps["postgres"]["condition"] == "service_healthy"
    assert services["proxy"]["depends_on"]["app"]["condition"] == "service_healthy"


@pytest.mark.parametrize(
    ("service", "probe"),
    [("app", "/readyz"), ("proxy", "/healthz"), ("redis", "redis-cli ping"), ("postgres", "pg_isready")],
)
def test_every_long_running_service_has_a_healthcheck(
    services: dict[str, Any], service: str, probe: str
) -> None:
    check = services[service]["healthcheck"]
    test = check["test"]
    assert test[0] in ("CMD", "CMD-SHELL")
    assert probe in " ".join(test[1:])
    assert "interval" in check and "retries" in check


def test_app_environment_points_at_the_compose_services(services: dict[str, Any]) -> None:
    env = services["app"]["environment"]
    assert env["DATABASE_URL"] == "postgresql+psycopg://intake:pg-Secret_1@postgres:5432/intake"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["INTAKE_SECRET_KEY"] == ENV["INTAKE_SECRET_KEY"]
    pg = services["postgres"]["environment"]
    assert (pg["POSTGRES_USER"], pg["POSTGRES_DB"], pg["POSTGRES_PASSWORD"]) == (
        "intake",
        "intake",
        "pg-Secret_1",
    )
    assert "-U intake -d intake" in " ".join(services["postgres"]["healthcheck"]["test"])
    # LINE is optional: blank means "not configured" (the webhook answers 503, the rest works).
    assert env["LINE_CHANNEL_SECRET"] == "" and env["LINE_CHANNEL_ACCESS_TOKEN"] == ""


def test_app_environment_names_are_settings(services: dict[str, Any]) -> None:
    # Every variable is a setting (a typo would be silently ignored), or one uvicorn reads itself.
    uvicorn_vars = {"FORWARDED_ALLOW_IPS"}
    env = services["app"]["environment"]
    unknown = [k for k in env if k.lower() not in Settings.model_fields and k not in uvicorn_vars]
    assert unknown == []
    # Trusting forwarded headers from anyone is only safe because nothing but the proxy reaches the app.
    assert env["FORWARDED_ALLOW_IPS"] == "*" and "ports" not in services["app"]


def test_redis_supports_expire_nx(services: dict[str, Any]) -> None:
    m = re.fullmatch(r"redis:(\d+)(?:[.-].*)?", services["redis"]["image"])
    assert m and int(m.group(1)) >= 7


def test_stateful_services_keep_their_data_in_volumes(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])
    assert set(compose["volumes"]) >= {"postgres-data", "redis-data"}


# --- Dockerfile ---------------------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_dockerfile_base_install_and_user() -> None:
    ins = _instructions()
    assert ins[0] == ("FROM", "python:3.11-slim")
    assert any(op == "RUN" and re.search(r"\bpip install \.(\s|$)", arg) for op, arg in ins)
    users = [arg for op, arg in ins if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    # USER comes before CMD: the server never runs as root.
    order = [op for op, _ in ins]
    assert order.index("USER") < order.index("CMD")


def test_dockerfile_runs_the_intake_console_script() -> None:
    import json

    ins = _instructions()
    assert not [arg for op, arg in ins if op == "ENTRYPOINT"]
    cmd = json.loads(next(arg for op, arg in ins if op == "CMD"))
    assert cmd[:2] == ["intake", "serve"]
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["intake"] == "intake.cli:main"


def test_dockerfile_copies_every_package_the_project_installs() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied = {arg.split()[0] for op, arg in _instructions() if op == "COPY"}
    assert set(packages) <= copied
    assert {"pyproject.toml", "knowledge"} <= copied


def _dockerignore() -> set[str]:
    lines = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")}


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image() -> None:
    ignored = _dockerignore()
    assert {".env", ".venv", ".git", "var"} <= ignored


def test_everything_the_dockerfile_copies_is_in_the_build_context() -> None:
    ignored = _dockerignore()
    for op, arg in _instructions():
        if op != "COPY" or arg.startswith("--from"):
            continue
        *sources, _dest = arg.split()
        for src in sources:
            assert (REPO / src).exists(), f"COPY {src}: not in the repository"
            assert src not in ignored, f"COPY {src}: excluded by .dockerignore"
