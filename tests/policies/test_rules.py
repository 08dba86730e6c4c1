"""Every rule kind, its scope, its windows and its validation, evaluated as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fiduciary.domain.codes import Code
from fiduciary.domain.decisions import Verdict
from fiduciary.domain.errors import ConfigError
from fiduciary.domain.intents import AgentRef, PaymentIntent, Tool
from fiduciary.domain.money import parse_amount
from fiduciary.policies import PolicyInput, counts_for, evaluate, parse_policy
from fiduciary.policies.model import Window
from fiduciary.policies.windows import window_start

HEAD = 'name = "p"\ncurrencies = ["USD", "BRL"]\ntimezone = "America/Sao_Paulo"\n'
CALLER = AgentRef("org_a", "prj_a", "agt_a")
# Monday 5 January 2026, 12:00 UTC (09:00 in Sao Paulo).
MONDAY_NOON = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def intent(amount: str = "10.00", *, counterparty: str = "acct:x", **extra: object) -> PaymentIntent:
    fields: dict[str, object] = {"category": None, "country": None} | extra
    return PaymentIntent(
        CALLER,
        Tool(str(fields.pop("tool", "pay"))),
        parse_amount(amount, str(fields.pop("currency", "USD"))),
        counterparty,
        "p",
        "k",
        **fields,  # type: ignore[arg-type]
    )


def policy(rules: str) -> object:
    return parse_policy(HEAD + rules)


def decide(rules: str, subject: PaymentIntent, **facts: object) -> tuple[Verdict, Code]:
    decision = evaluate(subject, PolicyInput(**facts), parse_policy(HEAD + rules))  # type: ignore[arg-type]
    return decision.verdict, decision.code


def test_calendar_windows_start_at_local_midnight_weeks_on_monday() -> None:
    tz = "America/Sao_Paulo"  # UTC-3
    saturday = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)  # Friday 23:00 local
    assert window_start(Window.DAY, saturday, timezone=tz) == datetime(2026, 1, 9, 3, 0, tzinfo=UTC)
    assert window_start(Window.WEEK, saturday, timezone=tz) == datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    assert window_start(Window.MONTH, saturday, timezone=tz) == datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    assert window_start(Window.ROLLING, saturday, timezone=tz, hours=36) == datetime(2026, 1, 8, 14, 0, tzinfo=UTC)
    assert window_start(Window.MINUTE, saturday.replace(second=42), timezone=tz) == saturday


def test_a_weekly_budget_per_project_counts_the_projects_spending() -> None:
    rules = (
        '[[rules]]\nid = "week"\nkind = "budget"\ncurrency = "USD"\namount = "1000.00"\nwindow = "week"\n'
        'per = "project"\n'
    )
    parsed = parse_policy(HEAD + rules)
    (count,) = counts_for(parsed, intent(), MONDAY_NOON)
    assert (count.what, count.per_project, count.since) == ("spent", True, datetime(2026, 1, 5, 3, 0, tzinfo=UTC))
    assert decide(rules, intent("100.00"), counts={"week": 90_000}) == (Verdict.ALLOW, Code.OK)
    assert decide(rules, intent("100.01"), counts={"week": 90_000}) == (Verdict.DENY, Code.BUDGET_EXCEEDED)


def test_a_rate_limit_counts_this_call_too() -> None:
    rules = '[[rules]]\nid = "rl"\nkind = "rate_limit"\ncalls = 3\nwindow = "minute"\n'
    assert decide(rules, intent(), counts={"rl": 2}) == (Verdict.ALLOW, Code.OK)
    assert decide(rules, intent(), counts={"rl": 3}) == (Verdict.DENY, Code.RATE_LIMITED)


def test_an_allow_list_denies_everyone_else_in_canonical_form() -> None:
    rules = '[[rules]]\nid = "only"\nkind = "allow_counterparty"\ncounterparties = ["DE89 3704 0044 0532 0130 00"]\n'
    assert decide(rules, intent(counterparty="iban:DE89370400440532013000"))[0] is Verdict.ALLOW
    assert decide(rules, intent(counterparty="acct:x")) == (Verdict.DENY, Code.COUNTERPARTY_NOT_ALLOWED)
    assert decide(rules, intent(tool="charge", counterparty="cus:1"))[0] is Verdict.ALLOW, "charges are not payees"


def test_countries_and_categories_can_be_denied() -> None:
    rules = (
        '[[rules]]\nid = "c"\nkind = "deny_country"\ncountries = ["KP", "IR"]\n'
        '[[rules]]\nid = "mcc"\nkind = "deny_category"\ncategories = ["7995"]\n'
    )
    assert decide(rules, intent(country="KP")) == (Verdict.DENY, Code.COUNTRY_BLOCKED)
    assert decide(rules, intent(category="7995")) == (Verdict.DENY, Code.CATEGORY_BLOCKED)
    assert decide(rules, intent(country="BR", category="5732"))[0] is Verdict.ALLOW


def test_a_new_payee_waits_unless_paid_before_or_named_in_the_mandate() -> None:
    rules = '[[rules]]\nid = "new"\nkind = "approval_new_counterparty"\nmin_payments = 2\n'
    assert decide(rules, intent(), counts={"new": 1}) == (Verdict.APPROVAL_REQUIRED, Code.APPROVAL_REQUIRED)
    assert decide(rules, intent(), counts={"new": 2})[0] is Verdict.ALLOW
    assert decide(rules, intent(), counts={"new": 0}, payee_in_mandate=True)[0] is Verdict.ALLOW


def test_approval_can_be_required_for_a_scope() -> None:
    rules = '[[rules]]\nid = "br"\nkind = "approval_required"\nwhen = { countries = ["BR"], tools = ["pay"] }\n'
    assert decide(rules, intent(country="BR"))[0] is Verdict.APPROVAL_REQUIRED
    assert decide(rules, intent(country="AR"))[0] is Verdict.ALLOW
    assert decide(rules, intent(country="BR", tool="charge", counterparty="cus:1"))[0] is Verdict.ALLOW


@pytest.mark.parametrize(
    ("local_time", "blocked"),
    [
        (datetime(2026, 1, 9, 22, 30), True),  # Friday 22:30
        (datetime(2026, 1, 10, 5, 59), True),  # Saturday 05:59, the Friday night window
        (datetime(2026, 1, 10, 6, 0), False),  # Saturday 06:00
        (datetime(2026, 1, 10, 23, 0), False),  # Saturday night: not a listed day
        (datetime(2026, 1, 8, 23, 0), False),  # Thursday night
    ],
)
def test_a_blocked_window_runs_across_midnight_in_the_policys_time_zone(local_time: datetime, blocked: bool) -> None:
    from zoneinfo import ZoneInfo

    rules = '[[rules]]\nid = "night"\nkind = "blocked_hours"\ndays = ["fri"]\nstart = "22:00"\nend = "06:00"\n'
    now = local_time.replace(tzinfo=ZoneInfo("America/Sao_Paulo")).astimezone(UTC)
    expected = (Verdict.DENY, Code.OUTSIDE_HOURS) if blocked else (Verdict.ALLOW, Code.OK)
    assert decide(rules, intent(), now=now) == expected


def test_injection_review_can_hold_a_band_of_scores() -> None:
    rules = '[[rules]]\nid = "band"\nkind = "injection_review"\nmin_score = 0.4\nmax_score = 0.6\n'
    assert decide(rules, intent(), risk_bp=4_000)[0] is Verdict.APPROVAL_REQUIRED
    assert decide(rules, intent(), risk_bp=6_000)[0] is Verdict.ALLOW
    assert decide(rules, intent(), risk_bp=3_999)[0] is Verdict.ALLOW
    with pytest.raises(ConfigError, match="above"):
        parse_policy(HEAD + rules.replace("max_score = 0.6", "max_score = 0.3"))


def test_a_time_window_can_hold_instead_and_an_unknown_time_is_inside() -> None:
    rules = '[[rules]]\nid = "w"\nkind = "blocked_hours"\nstart = "00:00"\nend = "23:59"\naction = "approval"\n'
    assert decide(rules, intent(), now=MONDAY_NOON)[0] is Verdict.APPROVAL_REQUIRED
    deny = '[[rules]]\nid = "w"\nkind = "blocked_hours"\nstart = "01:00"\nend = "02:00"\n'
    assert decide(deny, intent())[1] is Code.OUTSIDE_HOURS, "no clock: fail closed"


def test_a_per_payee_limit_counts_amount_or_payments() -> None:
    amount = '[[rules]]\nid = "one"\nkind = "counterparty_limit"\ncurrency = "USD"\namount = "100.00"\nwindow = "day"\n'
    assert decide(amount, intent("40.00"), counts={"one": 6_000}) == (Verdict.ALLOW, Code.OK)
    assert decide(amount, intent("40.01"), counts={"one": 6_000}) == (Verdict.DENY, Code.COUNTERPARTY_LIMIT_EXCEEDED)
    count = '[[rules]]\nid = "n"\nkind = "counterparty_limit"\npayments = 2\nwindow = "rolling"\nhours = 24\n'
    parsed = parse_policy(HEAD + count)
    (needed,) = counts_for(parsed, intent(counterparty="acct:x"), MONDAY_NOON)
    assert (needed.what, needed.counterparty) == ("paid_to_count", "acct:x")
    assert decide(count, intent(), counts={"n": 2})[1] is Code.COUNTERPARTY_LIMIT_EXCEEDED


def test_deny_beats_approval_beats_allow_and_every_hit_is_recorded() -> None:
    rules = (
        '[[rules]]\nid = "big"\nkind = "approval_threshold"\ncurrency = "USD"\namount = "10.00"\n'
        '[[rules]]\nid = "cap"\nkind = "max_amount"\ncurrency = "USD"\namount = "50.00"\n'
        '[[rules]]\nid = "new"\nkind = "approval_new_counterparty"\n'
    )
    decision = evaluate(intent("60.00"), PolicyInput(), parse_policy(HEAD + rules))
    assert (decision.verdict, decision.rule_id) == (Verdict.DENY, "cap")
    assert [h.rule_id for h in decision.hits] == ["big", "cap", "new"]
    held = evaluate(intent("20.00"), PolicyInput(), parse_policy(HEAD + rules))
    assert (held.verdict, held.rule_id) == (Verdict.APPROVAL_REQUIRED, "big")


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ('[[rules]]\nid = "b"\nkind = "budget"\ncurrency = "EUR"\namount = "1"\nwindow = "day"', "not in"),
        ('[[rules]]\nid = "b"\nkind = "budget"\ncurrency = "USD"\namount = "0"\nwindow = "day"', "zero"),
        ('[[rules]]\nid = "b"\nkind = "budget"\ncurrency = "USD"\namount = "-5"\nwindow = "day"', "amount"),
        ('[[rules]]\nid = "b"\nkind = "budget"\ncurrency = "USD"\namount = "5"\nwindow = "year"', "window"),
        ('[[rules]]\nid = "b"\nkind = "budget"\ncurrency = "USD"\namount = "5"\nwindow = "rolling"', "hours"),
        ('[[rules]]\nid = "r"\nkind = "rate_limit"\ncalls = 0\nwindow = "minute"', "calls"),
        ('[[rules]]\nid = "r"\nkind = "rate_limit"\ncalls = 5\nwindow = "minute"\nper = "org"', "per"),
        ('[[rules]]\nid = "h"\nkind = "blocked_hours"\nstart = "22:00"\nend = "22:00"', "same time"),
        ('[[rules]]\nid = "h"\nkind = "blocked_hours"\nstart = "25:00"\nend = "06:00"', "time of day"),
        ('[[rules]]\nid = "h"\nkind = "blocked_hours"\nstart = "1:00"\nend = "2:00"\ndays = ["friday"]', "time"),
        ('[[rules]]\nid = "c"\nkind = "deny_country"\ncountries = ["Brazil"]', "ISO 3166"),
        ('[[rules]]\nid = "a"\nkind = "allow_counterparty"\ncounterparties = ["0x12"]', "entry"),
        ('[[rules]]\nid = "l"\nkind = "counterparty_limit"\nwindow = "day"', "either"),
        ('[[rules]]\nid = "x"\nkind = "approval_required"\nwhen = { planets = ["mars"] }', "unknown keys"),
        ('[[rules]]\nid = "x"\nkind = "max_amount"\ncurrency = "USD"\namount = "5"\ntypo = 1', "unknown keys"),
    ],
)
def test_a_bad_rule_is_a_precise_error_naming_its_line_and_key(rules: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        parse_policy(HEAD + rules)
    assert str(refused.value).startswith("line 4: rule"), str(refused.value)


def test_time_windows_that_overlap_and_disagree_are_an_error_and_windows_that_meet_are_not() -> None:
    night = '[[rules]]\nid = "night"\nkind = "blocked_hours"\nstart = "22:00"\nend = "06:00"\n'
    review = '[[rules]]\nid = "late"\nkind = "blocked_hours"\nstart = "{start}"\nend = "23:00"\naction = "approval"\n'
    with pytest.raises(ConfigError, match=r"'night' and 'late'.*overlap"):
        parse_policy(HEAD + night + review.format(start="21:00"))
    parse_policy(HEAD + night.replace("22:00", "23:00") + review.format(start="21:00"))
    both_deny = review.format(start="21:00").replace('action = "approval"\n', "")
    parse_policy(HEAD + night + both_deny)


def test_an_unknown_time_zone_is_an_error() -> None:
    with pytest.raises(ConfigError, match="not a known time zone"):
        parse_policy('name = "p"\ncurrencies = ["USD"]\ntimezone = "Mars/Olympus_Mons"\n')


APPROVERS_RULE = '[[rules]]\nid = "big"\nkind = "approval_threshold"\ncurrency = "USD"\namount = "100.00"\n'


def test_a_hold_asks_for_as_many_approvers_as_its_strictest_rule() -> None:
    two = parse_policy(
        HEAD + APPROVERS_RULE + "approvers = 2\n" + '[[rules]]\nid = "all"\nkind = "approval_required"\n'
    )
    decision = evaluate(intent("150.00"), PolicyInput(now=MONDAY_NOON), two)
    assert decision.verdict is Verdict.APPROVAL_REQUIRED and decision.approvers == 2
    assert evaluate(intent("50.00"), PolicyInput(now=MONDAY_NOON), two).approvers == 1
    one = parse_policy(HEAD + APPROVERS_RULE)
    assert one.rules[0].approvers == 1
    assert parse_policy(HEAD + APPROVERS_RULE + "approvers = 1\n").version == one.version, "1 is the default"
    assert (
        two.version
        != parse_policy(HEAD + APPROVERS_RULE + '[[rules]]\nid = "all"\nkind = "approval_required"\n').version
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("approvers = 0\n", "from 1 to 5"),
        ("approvers = 6\n", "from 1 to 5"),
        ("approvers = true\n", "from 1 to 5"),
    ],
)
def test_approvers_is_a_small_whole_number(extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_policy(HEAD + APPROVERS_RULE + extra)


def test_approvers_belong_only_to_rules_that_hold() -> None:
    night = '[[rules]]\nid = "night"\nkind = "blocked_hours"\nstart = "22:00"\nend = "06:00"\napprovers = 2\n'
    with pytest.raises(ConfigError, match='needs action = "approval"'):
        parse_policy(HEAD + night)
    assert parse_policy(HEAD + night + 'action = "approval"\n').rules[0].approvers == 2
    with pytest.raises(ConfigError, match="unknown keys approvers"):
        parse_policy(
            HEAD + '[[rules]]\nid = "cap"\nkind = "max_amount"\ncurrency = "USD"\namount = "1.00"\napprovers = 2\n'
        )


def test_deny_rail_names_the_rails_a_payment_may_not_go_through() -> None:
    rules = parse_policy(HEAD + '[[rules]]\nid = "no-wires"\nkind = "deny_rail"\nrails = ["mt", "mt-eu"]\n')
    assert evaluate(intent(), PolicyInput(now=MONDAY_NOON, rail="mt"), rules).code is Code.RAIL_BLOCKED
    assert evaluate(intent(), PolicyInput(now=MONDAY_NOON, rail="sandbox"), rules).allowed
    assert evaluate(intent(), PolicyInput(now=MONDAY_NOON), rules).allowed, "a refund follows its charge's rail"
    with pytest.raises(ConfigError, match="missing keys rails"):
        parse_policy(HEAD + '[[rules]]\nid = "x"\nkind = "deny_rail"\n')
