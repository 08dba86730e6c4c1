"""Policies: load and validate policy files, evaluate intents against them (pure)."""

from fiduciary.policies.evaluate import Count, Crossing, PolicyInput, counts_for, crossings, evaluate
from fiduciary.policies.load import build_policy, default_source, parse_policy
from fiduciary.policies.model import Policy, Rule, RuleKind

__all__ = [
    "Count",
    "Crossing",
    "Policy",
    "PolicyInput",
    "Rule",
    "RuleKind",
    "build_policy",
    "counts_for",
    "crossings",
    "default_source",
    "evaluate",
    "parse_policy",
]
