"""Policies: load and validate policy files, evaluate intents against them (pure)."""

from fiduciary.policies.evaluate import Count, PolicyInput, counts_for, evaluate
from fiduciary.policies.load import build_policy, default_source, parse_policy
from fiduciary.policies.model import Policy, Rule, RuleKind

__all__ = [
    "Count",
    "Policy",
    "PolicyInput",
    "Rule",
    "RuleKind",
    "build_policy",
    "counts_for",
    "default_source",
    "evaluate",
    "parse_policy",
]
