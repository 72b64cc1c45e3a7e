"""The build context: the token in .env and local databases stay out of it, and
everything the Dockerfile copies stays in."""

from __future__ import annotations

import fnmatch

from tests.unit.app.test_container import ROOT, _instructions


def ignored(path: str, patterns: list[str]) -> bool:
    """Return whether Docker would leave ``path`` (relative, '/'-separated) out of the context.

    Enough of Docker's rules for these patterns: a pattern matches the path or one of
    its leading folders; ``**/`` matches at any depth. No ``!`` exceptions are used.
    """
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        for prefix in prefixes:
            name = prefix.rsplit("/", 1)[-1] if pattern.startswith("**/") else prefix
            if fnmatch.fnmatchcase(name, bare):
                return True
    return False


def patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_secrets_and_local_state_stay_out_of_the_build_context() -> None:
    """The token file and databases (with their lock and heartbeat) are never sent to a build."""
    found = patterns()
    assert not [p for p in found if p.startswith("!")], "exceptions need a fuller matcher"
    for path in (
        ".env",
        ".env.production",
        "studybot.db",
        "studybot.db-wal",
        "studybot.db.lock",
        "studybot.db.health.json",
        ".venv/bin/python",
        "bot/__pycache__/app.cpython-311.pyc",
    ):
        assert ignored(path, found), path


def test_what_the_dockerfile_copies_is_in_the_build_context() -> None:
    """Every COPY source (outside a build stage) is sent, with every file under it."""
    found = patterns()
    sources = [
        word
        for instruction, args in _instructions()
        if instruction == "COPY" and "--from" not in args
        for word in args.split()[:-1]
        if not word.startswith("--")
    ]
    assert {"pyproject.toml", "README.md", "bot", "content"} <= set(sources)
    for source in sources:
        top = ROOT / source
        files = [top] if top.is_file() else [p for p in top.rglob("*") if p.is_file()]
        kept = [p for p in files if "__pycache__" not in p.parts and not p.name.endswith(".pyc")]
        assert kept, source
        for file in kept:
            relative = file.relative_to(ROOT).as_posix()
            assert not ignored(relative, found), relative
