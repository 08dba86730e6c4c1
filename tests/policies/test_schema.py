"""The policy JSON Schema comes from the loader's own tables: it accepts and refuses what the loader does."""

from __future__ import annotations

import tomllib
from pathlib import Path

import jsonschema
import pytest

from fiduciary.domain.errors import ConfigError
from fiduciary.policies import default_source, parse_policy
from fiduciary.policies.model import RuleKind
from fiduciary.policies.schema import json_schema

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "policies"
HEAD = 'name = "p"\ncurrencies = ["USD"]\n'
GOOD_RULES = [
    '[[rules]]\nid = "a"\nkind = "budget"\ncurrency = "USD"\namount = "10.00"\nwindow = "rolling"\nhours = 12\n'
    'per = "project"',
    '[[rules]]\nid = "a"\nkind = "rate_limit"\ncalls = 5\nwindow = "minute"',
    '[[rules]]\nid = "a"\nkind = "blocked_hours"\nstart = "22:00"\nend = "06:00"\ndays = ["fri", "sat"]\n'
    'action = "approval"',
    '[[rules]]\nid = "a"\nkind = "counterparty_limit"\npayments = 3\nwindow = "day"',
    '[[rules]]\nid = "a"\nkind = "approval_required"\nwhen = { countries = ["BR"], tools = ["pay"] }',
    '[[rules]]\nid = "a"\nkind = "injection_review"\nmin_score = 0.4\nmax_score = 0.6',
]
BAD_RULES = [
    '[[rules]]\nid = "a"\nkind = "budget"\ncurrency = "USD"\namount = "10.00"',  # no window
    '[[rules]]\nid = "a"\nkind = "rate_limit"\ncalls = 5\nwindow = "minute"\nsurprise = 1',
    '[[rules]]\nid = "a"\nkind = "blocked_hours"\nstart = "25:00"\nend = "06:00"',
    '[[rules]]\nid = "a"\nkind = "nope"',
    '[[rules]]\nid = "a"\nkind = "deny_country"\ncountries = ["Brazil"]',
    '[[rules]]\nid = "a"\nkind = "approval_required"\nwhen = { planets = ["mars"] }',
]


def schema_accepts(source: str) -> bool:
    try:
        jsonschema.validate(tomllib.loads(source), json_schema())
    except jsonschema.ValidationError:
        return False
    return True


def test_the_schema_is_a_valid_json_schema_with_a_model_per_kind() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert {f"Rule_{kind.value}" for kind in RuleKind} <= set(schema["$defs"])


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_policy_passes_both(path: Path) -> None:
    source = path.read_text()
    parse_policy(source)
    assert schema_accepts(source)


@pytest.mark.parametrize("rules", GOOD_RULES)
def test_what_the_loader_accepts_the_schema_accepts(rules: str) -> None:
    parse_policy(HEAD + rules)
    assert schema_accepts(HEAD + rules)


@pytest.mark.parametrize("rules", BAD_RULES)
def test_what_the_loader_refuses_for_its_shape_the_schema_refuses(rules: str) -> None:
    with pytest.raises(ConfigError):
        parse_policy(HEAD + rules)
    assert not schema_accepts(HEAD + rules)


def test_the_default_policy_passes_the_schema() -> None:
    assert schema_accepts(default_source())
