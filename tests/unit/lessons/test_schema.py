"""The JSON Schema that editors use agrees with the loader on shipped and broken lessons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "content" / "lesson.schema.json"
LESSONS = sorted((ROOT / "content" / "lessons").glob("*.yaml"))
BROKEN = ROOT / "tests" / "fixtures" / "broken_lessons"


def validator() -> jsonschema.Draft202012Validator:
    """Return a validator for the shipped schema, after checking the schema itself."""
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(document: Any) -> list[str]:
    """Return the schema errors of a parsed document as 'path: message' lines."""
    return [
        f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator().iter_errors(document)
    ]


def test_every_shipped_lesson_matches_the_schema() -> None:
    """Every lesson in content/lessons validates against lesson.schema.json (all reported)."""
    failures = {path.name: errors(yaml.safe_load(path.read_text())) for path in LESSONS}
    assert LESSONS
    assert {name: errs for name, errs in failures.items() if errs} == {}


@pytest.mark.parametrize(
    ("fixture", "fragment"),
    [
        ("bad_id.yaml", "does not match"),
        ("minutes_not_number.yaml", "is not of type 'integer'"),
        ("unknown_row_key.yaml", "Additional properties are not allowed ('note'"),
        ("missing_transcript.yaml", "'transcript' is a required property"),
        ("boolean_status.yaml", "False is not of type 'string'"),
    ],
)
def test_broken_lessons_fail_the_schema(fixture: str, fragment: str) -> None:
    """A broken lesson fails the schema too, with a message editors can act on."""
    found = errors(yaml.safe_load((BROKEN / fixture).read_text()))
    assert any(fragment in e for e in found), found
