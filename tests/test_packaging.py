"""MAP bot runs from its wheel alone, and the deployment files say the same thing:
the wheel built from the repository's files, installed in a fresh venv outside the
repository, answers `--version`, migrates a SQLite file and runs the shell (so
migrations and templates ship as package data); the Dockerfile runs those same
commands as a non-root user with a health check; compose.yaml runs PostgreSQL,
`mapbot serve` and `mapbot worker`; the systemd units are valid.

No Docker engine exists on these machines: the Dockerfile and compose.yaml are
checked as files here, and built wherever Docker runs."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fixtures import repository_files

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# What the wheel test runs, and the Dockerfile's smoke step too.
SMOKE = (
    "mapbot --version",
    "mapbot db upgrade --db /tmp/smoke.db",
    "printf '/map status\\n' | mapbot shell --demo --db /tmp/shell.db",
)


def _repository_files(into: Path) -> Path:
    """The files git would put in a clone (tracked and new, not ignored): a
    wheel built from them cannot lean on anything left lying in the work tree."""
    for path in repository_files():
        name = path.relative_to(ROOT)
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, into / name)
    return into


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv outside the repository with only the built wheel installed."""
    base = tmp_path_factory.mktemp("wheel")
    source = _repository_files(base / "source")
    dist = base / "dist"
    # As a release is built: the sdist, then the wheel from the sdist alone.
    build = [sys.executable, "-m", "build", "--outdir", str(dist), str(source)]
    subprocess.run(build, check=True, capture_output=True)
    (sdist,) = dist.glob("mapbot-*.tar.gz")
    (wheel,) = dist.glob("mapbot-*.whl")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {
        "tests/fixtures/slack/payloads/LICENSE",
        "tests/fixtures/slack/manifest-schema/manifest.schema.1.0.0.json",
        "storage/migrations/versions/0001_initial_schema.py",
        "deploy/systemd/mapbot.service",
        "compose.yaml",
        "Dockerfile",
    } <= names
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True)
    shutil.rmtree(source)  # nothing left to import from but the venv
    yield venv / "bin"


def _clean_env(bin_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_URL", "LOG_", "PYTHON", "VIRTUAL_ENV", "MAPBOT_"))
    }
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.packaging
def test_the_wheel_alone_runs_version_upgrade_and_the_shell(
    installed: Path, tmp_path: Path
) -> None:
    env = _clean_env(installed)
    where = subprocess.run(
        [str(installed / "python"), "-c", "import bot, storage; print(bot.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(installed.parent) in where and str(ROOT) not in where
    for command in SMOKE:
        local = command.replace("/tmp/", f"{tmp_path}/")
        result = subprocess.run(
            ["sh", "-c", local],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        if "--version" in command:
            assert result.stdout.startswith("mapbot 0.")
        if "db upgrade" in command:
            assert result.stdout.strip() == "database is up to date"
        if "shell" in command:
            # The demo plan comes from the packaged template and migrations.
            assert "Scare Floor" in result.stdout and "Security review" in result.stdout


# --- Dockerfile ---------------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments), continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def test_dockerfile_runs_the_wheel_as_a_non_root_user_with_a_health_check() -> None:
    steps = _dockerfile()
    bases = [args for op, args in steps if op == "FROM"]
    assert bases and all(b.startswith("python:3.11-slim") for b in bases)
    final = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    runtime = steps[final:]
    users = [args for op, args in runtime if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    cmd = [args for op, args in runtime if op == "CMD"]
    assert cmd[-1] == '["mapbot", "serve"]'
    health = [args for op, args in runtime if op == "HEALTHCHECK"]
    assert len(health) == 1 and "/healthz" in health[0]
    # The smoke step runs as that user, after USER, the same commands as the wheel test.
    user_at = max(i for i, (op, _) in enumerate(runtime) if op == "USER")
    after_user = " ".join(args for op, args in runtime[user_at:] if op == "RUN")
    for command in SMOKE:
        assert command.split(" | ")[-1] in after_user, command
    assert "pip wheel" in " ".join(args for op, args in steps[:final] if op == "RUN")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env"} <= set(ignored)


# --- compose.yaml -------------------------------------------------------------------------


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())  # type: ignore[no-any-return]


def test_compose_runs_postgres_the_app_and_the_worker() -> None:
    services = _compose()["services"]
    assert set(services) == {"db", "app", "worker"}
    db = services["db"]
    assert db["image"].startswith("postgres:15")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    for name, command in (("app", ["mapbot", "serve"]), ("worker", ["mapbot", "worker"])):
        service = services[name]
        assert service["command"] == command
        assert service["build"] == "."
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert "/healthz" in " ".join(service["healthcheck"]["test"])
        assert service["restart"] == "unless-stopped"
        env = service["environment"]
        assert (
            env["DATABASE_URL"].startswith("postgresql://mapbot:")
            and "@db:5432/" in env["DATABASE_URL"]
        )
        assert env["LOG_FORMAT"] == "json" and env["PORT"] == "3000"
        for secret in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
            assert env[secret].startswith("${"), f"{secret} must come from .env, not the file"
    # Only the app is published, and only to this host (the TLS proxy sits in front).
    assert services["app"]["ports"] == ["127.0.0.1:3000:3000"]
    assert "ports" not in services["worker"]


def test_compose_names_only_settings_the_app_reads() -> None:
    from bot.config import Settings

    documented = _configuration_table()
    env = _compose()["services"]["app"]["environment"]
    assert set(env) <= documented, set(env) - documented
    assert {"database_url", "host", "port", "log_level", "log_format"} <= set(
        Settings.__dataclass_fields__
    )


def _configuration_table() -> set[str]:
    """The variable names in README.md's "Configuration" table."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names |= {part.strip(" `") for part in first.split(",")}
    return names


def test_every_setting_the_code_reads_is_in_the_configuration_table() -> None:
    import re

    config = (ROOT / "bot" / "config.py").read_text()
    read = set(re.findall(r'get\("([A-Z][A-Z0-9_]+)"\)', config))
    sources = [*ROOT.glob("[bcrs]*/**/*.py"), *ROOT.glob("tests/*.py")]
    for path in sources:
        read |= set(re.findall(r'os\.environ(?:\.get\(|\[)"([A-Z][A-Z0-9_]+)"', path.read_text()))
    assert {"SLACK_BOT_TOKEN", "LOG_FORMAT", "MAPBOT_OUTBOX_LEASE"} <= read  # the scan works
    assert read <= _configuration_table(), read - _configuration_table()


# --- systemd ------------------------------------------------------------------------------


@pytest.mark.parametrize(("unit", "command"), [("mapbot", "serve"), ("mapbot-worker", "worker")])
def test_systemd_units(unit: str, command: str, tmp_path: Path) -> None:
    path = DEPLOY / "systemd" / f"{unit}.service"
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    service = parser["Service"]
    assert service["ExecStart"].endswith(f"/bin/mapbot {command}")
    assert service["User"] not in ("root", "0")
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"] == "/etc/mapbot/env"
    assert parser["Install"]["WantedBy"] == "multi-user.target"
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return  # the fields above are checked; systemd's own parser is not here
    # systemd's own parser, with ExecStart pointed at a real mapbot.
    mapbot = Path(sys.executable).with_name("mapbot")
    copy = tmp_path / path.name
    copy.write_text(path.read_text().replace("/opt/mapbot/venv/bin/mapbot", str(mapbot)))
    verified = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0 and (verified.stdout + verified.stderr).strip() == "", (
        verified.stdout + verified.stderr
    )
