"""The Dockerfile and compose file, checked without a Docker engine.

No engine runs on our machines, so the compose file is parsed and validated
here, and the Dockerfile's build steps (copy the same paths, ``pip install .``
into a fresh virtual environment, run the image's commands) are replayed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


def _instructions() -> list[tuple[str, str]]:
    """Return the Dockerfile's (INSTRUCTION, arguments), continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def test_compose_file_is_valid() -> None:
    """docker-compose.yml defines the service with env file, volume, healthcheck, restart."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    service = compose["services"]["studybot"]
    assert service["build"] == "."
    assert service["restart"] in {"unless-stopped", "always"}
    assert ".env" in service["env_file"]
    volume, target = service["volumes"][0].split(":")
    assert target == "/data" and volume in compose["volumes"]
    assert service["environment"]["STUDYBOT_DATABASE"].startswith("/data/")
    assert service["healthcheck"]["test"] == ["CMD", "studybot", "health"]


def test_dockerfile_runs_as_non_root_with_healthcheck() -> None:
    """The final stage is slim Python, runs as a non-root user, and checks health."""
    steps = _instructions()
    froms = [args for word, args in steps if word == "FROM"]
    assert all(f.startswith("python:3.11-slim") for f in froms)
    final = steps[max(i for i, (word, _) in enumerate(steps) if word == "FROM") :]
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1] not in {"root", "0"}
    assert any(word == "HEALTHCHECK" and "studybot" in args for word, args in final)
    assert ("CMD", '["studybot", "run"]') in final
    assert ("VOLUME", '["/data"]') in final


def test_dockerfile_copies_only_existing_paths() -> None:
    """Every COPY source in the build context exists in the repository."""
    for word, args in _instructions():
        if word == "COPY" and "--from=" not in args:
            parts = [p for p in shlex.split(args) if not p.startswith("--")]
            for source in parts[:-1]:
                assert (ROOT / source).exists(), source


STORE_ROUND_TRIP = """
import asyncio, os, pathlib
import bot
from bot.store.database import Store
from bot.store.records import RunStart

async def main():
    async with Store.open(pathlib.Path(os.environ["STUDYBOT_DATABASE"])) as store:
        run = await store.start_run(RunStart("personal", 0, 1, "ann", "lesson", (0,), 0))
        print(run, "installed" if "site-packages" in bot.__file__ else bot.__file__)

asyncio.run(main())
"""


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_dockerfile_install_steps_in_a_fresh_venv(tmp_path: Path) -> None:
    """Replaying the build stage (copy, pip install .) gives a working studybot."""
    src = tmp_path / "src"
    src.mkdir()
    for word, args in _instructions():
        if word == "COPY" and "--from=" not in args:
            parts = [p for p in shlex.split(args) if not p.startswith("--")]
            for source in parts[:-1]:
                origin = ROOT / source
                if origin.is_dir():
                    shutil.copytree(
                        origin, src / source, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy2(origin, src / source)
            if parts[-1] == "/app/content":
                break
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    studybot = env_dir / "bin" / "studybot"
    env = {
        "PATH": f"{env_dir / 'bin'}:{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "STUDYBOT_DATABASE": str(tmp_path / "data" / "studybot.db"),
        "STUDYBOT_CONTENT_DIR": str(src / "content" / "lessons"),
    }
    run = {"capture_output": True, "text": True, "timeout": 120, "env": env, "cwd": tmp_path}
    validate = subprocess.run([str(studybot), "validate"], **run)  # type: ignore[call-overload]
    assert validate.returncode == 0, validate.stdout + validate.stderr
    migrate = subprocess.run([str(studybot), "migrate"], **run)  # type: ignore[call-overload]
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert (tmp_path / "data" / "studybot.db").exists()
    health = subprocess.run([str(studybot), "health"], **run)  # type: ignore[call-overload]
    assert health.returncode == 1 and "no heartbeat" in health.stdout
    # The installed package starts its writer process and commits through it.
    write = subprocess.run([str(python), "-c", STORE_ROUND_TRIP], **run)  # type: ignore[call-overload]
    assert write.returncode == 0, write.stdout + write.stderr
    assert write.stdout.split() == ["1", "installed"], write.stdout + write.stderr
    assert sys.version_info >= (3, 11)
