"""Accuracy and latency of the injection scorer against the baseline guard.

    python bench/injection.py [--corpus PATH] [--heldout PATH] [--out PATH]

Reads the labelled corpus (default ``../shared/injection-corpus`` relative to the repository
root) and the hand-written held-out set (``bench/data/heldout.jsonl``), scores every text
with ``fiduciary.injection.score`` and with the appendix's baseline guard
(bench/baseline_guard.py), prints tables and writes ``bench/results/injection.json``.

Groups reported:
- recall per attack source/subset and per category (attack family), macro-averaged over
  sources; payment-targeted attacks with and without the bare ``framing: none`` items;
- false-positive rate per benign source, with hard negatives (benign texts containing
  trigger words) counted apart, WildGuard apart and split into jailbreak-framed and plain
  prompts (see ``FRAMED``), and clean emails (BIPIA) apart;
- latency p50/p99 per check by text length.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import baseline_guard  # noqa: E402

from fiduciary.injection import ScanContext, score  # noqa: E402
from fiduciary.policies import RuleKind, parse_policy  # noqa: E402

THRESHOLD = 0.7
UPSTREAM = ScanContext(tool="upstream_result")
LENGTH_BUCKETS = ((64, "<=64"), (256, "65-256"), (512, "257-512"), (2048, "513-2048"), (8192, "2049-8192"))
FRAMED = re.compile(
    r"\b(?:imagine|pretend|role-?play|character|story|novel|script|fiction(?:al)?|hypothetical(?:ly)?|"
    r"in a (?:world|universe|society)|you are (?:a|an|the)|as (?:a|an) (?:\w+ )?(?:writer|author|researcher|"
    r"historian|expert|assistant|ai)|game|announcement|scenario|parallel)\b",
    re.IGNORECASE,
)
"""WildGuard prompts that wrap their request in a jailbreak-style frame (role-play, fiction,
hypotheticals, personas). Independent of both scorers; counted apart from plain prompts."""


@dataclass
class Item:
    """One labelled text and both verdicts."""

    text: str
    label: int
    file: str
    source: str
    subset: str
    category: str
    hard_negative: bool
    framing: str | None
    lang: str | None
    ours: float = 0.0
    ours_blocked: bool = False
    ours_families: tuple[str, ...] = ()
    base: float = 0.0
    base_blocked: bool = False
    upstream_blocked: bool = False
    ours_ns: list[int] = field(default_factory=list)
    base_ns: list[int] = field(default_factory=list)


def _source_name(raw: str) -> str:
    if raw.startswith("github:"):
        return raw[len("github:") :].split("@")[0].split(":")[0]
    return raw


def load(corpus: Path, heldout: Path) -> list[Item]:
    """Every labelled text of the corpus files and the held-out set."""
    paths = sorted(corpus.glob("*.jsonl")) + ([heldout] if heldout.exists() else [])
    items: list[Item] = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            items.append(
                Item(
                    text=row["text"],
                    label=int(row["label"]),
                    file=path.stem,
                    source=_source_name(row["source"]),
                    subset=row.get("subset", ""),
                    category=row.get("category", ""),
                    hard_negative=bool(row.get("hard_negative")),
                    framing=row.get("framing"),
                    lang=row.get("lang"),
                )
            )
    return items


def run(items: list[Item], repeats: int) -> None:
    """Score every item with both scorers, timing each call ``repeats`` times."""
    score("warm up the caches")
    for item in items:
        for _ in range(repeats):
            t0 = time.perf_counter_ns()
            ours = score(item.text)
            t1 = time.perf_counter_ns()
            base = baseline_guard.score(item.text, THRESHOLD)
            t2 = time.perf_counter_ns()
            item.ours_ns.append(t1 - t0)
            item.base_ns.append(t2 - t1)
        item.ours, item.ours_blocked = ours.score, ours.blocked
        item.ours_families = tuple(sorted({m.family for m in ours.matches}))
        item.base, item.base_blocked = base.score, base.blocked
        item.upstream_blocked = score(item.text, context=UPSTREAM).blocked


def rate(items: Iterable[Item], who: str) -> tuple[float, int, int]:
    """(blocked share, blocked count, total) for ``who`` in {"ours", "base"}."""
    pool = list(items)
    verdict: dict[str, Callable[[Item], bool]] = {
        "ours": lambda i: i.ours_blocked,
        "base": lambda i: i.base_blocked,
        "upstream": lambda i: i.upstream_blocked,
    }
    hits = sum(1 for i in pool if verdict[who](i))
    return (hits / len(pool) if pool else 0.0, hits, len(pool))


Group = tuple[str, Callable[[Item], bool]]


def attack_groups(items: list[Item]) -> list[Group]:
    """The rows of the recall table."""
    groups: list[Group] = [
        ("payment-targeted: all (payment_injections)", lambda i: i.file == "payment_injections"),
        ("payment-targeted: with attack framing", lambda i: i.file == "payment_injections" and i.framing != "none"),
        (
            "payment-targeted: bare instruction (framing none)",
            lambda i: i.file == "payment_injections" and i.framing == "none",
        ),
        ("general direct: all (injections)", lambda i: i.file == "injections"),
    ]
    for subset in sorted({i.subset for i in items if i.file == "injections" and i.label == 1}):
        groups.append((f"  injections / {subset}", lambda i, s=subset: i.file == "injections" and i.subset == s))
    groups += [
        ("structural variants (attacks)", lambda i: i.file == "structural_variants" and i.label == 1),
        ("indirect: injected emails (BIPIA)", lambda i: i.file == "indirect_documents" and i.label == 1),
        ("held-out: payment attacks (fiduciary:heldout)", lambda i: i.subset == "heldout_payment_attack"),
        ("held-out: general attacks (fiduciary:heldout)", lambda i: i.subset == "heldout_general_attack"),
    ]
    for lang in ("en", "pt", "es"):
        groups.append(
            (
                f"  held-out attacks / {lang}",
                lambda i, lg=lang: i.source == "fiduciary:heldout" and i.label == 1 and i.lang == lg,
            )
        )
    return [(name, lambda i, p=pred: i.label == 1 and p(i)) for name, pred in groups]


def benign_groups(items: list[Item]) -> list[Group]:
    """The rows of the false-positive table."""
    groups: list[Group] = [
        ("agent+banking: payment_benign (NLU++, BANKING77)", lambda i: i.file == "payment_benign"),
        ("agent+banking: agent tasks (ASB)", lambda i: i.category == "agent_user_task"),
        ("agent+banking: structural benign formatting", lambda i: i.file == "structural_variants"),
        ("agent+banking: held-out benign (fiduciary:heldout)", lambda i: i.subset == "heldout_benign"),
        ("hard negatives: all", lambda i: i.hard_negative),
    ]
    for subset in sorted({i.subset for i in items if i.hard_negative and i.label == 0}):
        groups.append((f"  hard negatives / {subset}", lambda i, s=subset: i.hard_negative and i.subset == s))
    groups += [
        ("WildGuard benign: plain", lambda i: i.subset == "wildguard" and not FRAMED.search(i.text)),
        ("WildGuard benign: jailbreak-framed", lambda i: i.subset == "wildguard" and bool(FRAMED.search(i.text))),
        ("clean emails (BIPIA)", lambda i: i.file == "indirect_documents"),
    ]
    return [(name, lambda i, p=pred: i.label == 0 and p(i)) for name, pred in groups]


def upstream_groups() -> list[Group]:
    """Texts that plausibly come back from an upstream tool, scored as such."""
    return [
        ("attacks: payment_injections, all", lambda i: i.label == 1 and i.file == "payment_injections"),
        (
            "attacks: payment_injections, framing none",
            lambda i: i.label == 1 and i.file == "payment_injections" and i.framing == "none",
        ),
        ("attacks: injected emails (BIPIA)", lambda i: i.label == 1 and i.file == "indirect_documents"),
        ("attacks: InjecAgent (injections)", lambda i: i.label == 1 and i.subset.startswith("injecagent")),
        ("benign: clean emails (BIPIA)", lambda i: i.label == 0 and i.file == "indirect_documents"),
        (
            "benign: banking utterances as tool output (worst case)",
            lambda i: i.label == 0 and i.file == "payment_benign",
        ),
        ("benign: agent tasks (ASB)", lambda i: i.label == 0 and i.category == "agent_user_task"),
    ]


def upstream_table(items: list[Item]) -> list[dict[str, object]]:
    """Block rates with the default context and as upstream tool output."""
    rows: list[dict[str, object]] = []
    for name, predicate in upstream_groups():
        pool = [i for i in items if predicate(i)]
        if pool:
            rows.append(
                {
                    "group": name,
                    "n": len(pool),
                    "default": rate(pool, "ours")[0],
                    "upstream": rate(pool, "upstream")[0],
                    "upstream_hits": rate(pool, "upstream")[1],
                }
            )
    return rows


def print_upstream(rows: list[dict[str, object]]) -> None:
    """The upstream-context table."""
    print("\nas upstream tool output: ScanContext(tool='upstream_result'), block rate at 0.7")
    print(f"{'group':<56} {'n':>5} {'default':>8} {'upstream':>9}")
    for r in rows:
        print(f"{r['group']!s:<56} {r['n']:>5} {r['default']:>8.3f} {r['upstream']:>9.3f}")


def review_threshold() -> float:
    """The default policy's `injection_review` band: scores from here up to the block wait for a person."""
    source = (ROOT / "fiduciary" / "policies" / "default.toml").read_text(encoding="utf-8")
    rules = [r for r in parse_policy(source).rules if r.kind is RuleKind.INJECTION_REVIEW]
    assert len(rules) == 1 and rules[0].min_score_bp is not None
    return rules[0].min_score_bp / 10_000


def gate_table(items: list[Item]) -> list[dict[str, object]]:
    """What the gate does with each group under the default policy: block, hold for a person, or pass."""
    review = review_threshold()
    groups: list[Group] = [
        ("attacks: payment_injections", lambda i: i.label == 1 and i.file == "payment_injections"),
        ("attacks: general direct (injections)", lambda i: i.label == 1 and i.file == "injections"),
        ("attacks: injected emails (BIPIA)", lambda i: i.label == 1 and i.file == "indirect_documents"),
        ("attacks: held-out", lambda i: i.label == 1 and i.source == "fiduciary:heldout"),
        (
            "benign: agent + banking requests",
            lambda i: (
                i.label == 0
                and (i.file == "payment_benign" or i.category == "agent_user_task" or i.subset == "heldout_benign")
            ),
        ),
        ("benign: hard negatives", lambda i: i.label == 0 and i.hard_negative),
        ("benign: WildGuard", lambda i: i.label == 0 and i.subset == "wildguard"),
    ]
    rows: list[dict[str, object]] = []
    for name, predicate in groups:
        pool = [i for i in items if predicate(i)]
        held = sum(1 for i in pool if review <= i.ours < THRESHOLD)
        blocked = sum(1 for i in pool if i.ours_blocked)
        rows.append(
            {
                "group": name,
                "n": len(pool),
                "blocked": blocked / len(pool),
                "held": held / len(pool),
                "stopped": (blocked + held) / len(pool),
                "review_from": review,
            }
        )
    return rows


def print_gate(rows: list[dict[str, object]]) -> None:
    review = rows[0]["review_from"] if rows else 0.0
    print(f"\nin the gate, default policy: blocked at {THRESHOLD}, held for a person from {review} (injection-review)")
    print(f"{'group':<56} {'n':>5} {'blocked':>8} {'held':>8} {'stopped':>8}")
    for r in rows:
        print(f"{r['group']!s:<56} {r['n']:>5} {r['blocked']:>8.3f} {r['held']:>8.3f} {r['stopped']:>8.3f}")


def table(items: list[Item], groups: list[Group]) -> list[dict[str, object]]:
    """One row per group: counts and rates for both scorers."""
    rows: list[dict[str, object]] = []
    for name, predicate in groups:
        pool = [i for i in items if predicate(i)]
        if not pool:
            continue
        ours, ours_hits, total = rate(pool, "ours")
        base, base_hits, _ = rate(pool, "base")
        rows.append(
            {
                "group": name,
                "n": total,
                "ours": ours,
                "ours_hits": ours_hits,
                "baseline": base,
                "baseline_hits": base_hits,
            }
        )
    return rows


def macro(items: list[Item], label: int) -> dict[str, object]:
    """Macro average of the block rate over sources (repository of origin) for one label."""
    by_source: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        if item.label == label:
            by_source[item.source].append(item)
    ours = {s: rate(pool, "ours")[0] for s, pool in sorted(by_source.items())}
    base = {s: rate(pool, "base")[0] for s, pool in sorted(by_source.items())}
    return {
        "per_source_ours": ours,
        "per_source_baseline": base,
        "macro_ours": statistics.fmean(ours.values()),
        "macro_baseline": statistics.fmean(base.values()),
    }


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index] / 1000.0


def _latency_row(name: str, pool: list[Item]) -> dict[str, object]:
    # One figure per text: the median of its timed calls, so that a scheduler hiccup on a
    # shared machine does not pass for the cost of a text.
    ours = [round(statistics.median(i.ours_ns)) for i in pool]
    base = [round(statistics.median(i.base_ns)) for i in pool]
    return {
        "length": name,
        "texts": len(pool),
        "ours_p50_us": _percentile(ours, 0.5),
        "ours_p99_us": _percentile(ours, 0.99),
        "ours_max_us": max(ours) / 1000.0,
        "baseline_p50_us": _percentile(base, 0.5),
        "baseline_p99_us": _percentile(base, 0.99),
    }


def latency(items: list[Item]) -> list[dict[str, object]]:
    """p50/p99 per check in microseconds, by length bucket, and for field-sized texts."""
    rows: list[dict[str, object]] = []
    low = 0
    for high, name in [*LENGTH_BUCKETS, (10**12, ">8192")]:
        pool = [i for i in items if low < len(i.text) <= high]
        low = high
        if pool:
            rows.append(_latency_row(name, pool))
    rows.append(_latency_row("field (<=512)", [i for i in items if len(i.text) <= 512]))
    return rows


def _ratio(ours: float, base: float) -> str:
    if base == 0:
        return "inf" if ours > 0 else "-"
    return f"{ours / base:.2f}x"


def print_rates(title: str, rows: list[dict[str, object]], higher_is_better: bool) -> None:
    """A readable table of rates with the gain over the baseline."""
    print(f"\n{title}")
    print(f"{'group':<52} {'n':>5} {'fiduciary':>16} {'baseline':>16} {'gain':>8}")
    for row in rows:
        ours, base = float(row["ours"]), float(row["baseline"])  # type: ignore[arg-type]
        gain = _ratio(ours, base) if higher_is_better else _ratio(base, ours)
        print(
            f"{row['group']:<52} {row['n']:>5} {ours:>8.3f} ({row['ours_hits']:>4}) "
            f"{base:>8.3f} ({row['baseline_hits']:>4}) {gain:>8}"
        )


def print_latency(rows: list[dict[str, object]]) -> None:
    """The latency table."""
    print("\nlatency per check, microseconds (per text: median of its timed calls)")
    print(f"{'length':<16} {'texts':>6} {'fid p50':>9} {'fid p99':>9} {'fid max':>9} {'base p50':>9} {'base p99':>9}")
    for r in rows:
        print(
            f"{r['length']!s:<16} {r['texts']:>6} {r['ours_p50_us']:>9.1f} {r['ours_p99_us']:>9.1f} "
            f"{r['ours_max_us']:>9.1f} {r['baseline_p50_us']:>9.1f} {r['baseline_p99_us']:>9.1f}"
        )


def families_on_attacks(items: list[Item]) -> dict[str, int]:
    """How often each family fires on the attacks we block (what carries the recall)."""
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        if item.label == 1 and item.ours_blocked:
            for family in item.ours_families:
                counts[family] += 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def category_rows(items: list[Item]) -> list[dict[str, object]]:
    """Recall per attack category, as labelled by the corpus."""
    categories = sorted({(i.file, i.category) for i in items if i.label == 1})
    groups: list[Group] = [
        (f"{f[:12]}/{c}"[:52], lambda i, f=f, c=c: i.label == 1 and i.file == f and i.category == c)
        for f, c in categories
    ]
    return table(items, groups)


def main() -> int:
    """Run the benchmark and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "injection-corpus")
    parser.add_argument("--heldout", type=Path, default=ROOT / "bench" / "data" / "heldout.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "injection.json")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per text")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    items = load(args.corpus, args.heldout)
    run(items, max(1, args.repeats))
    recall, fpr = table(items, attack_groups(items)), table(items, benign_groups(items))
    categories, lat = category_rows(items), latency(items)
    macro_recall, macro_fpr = macro(items, 1), macro(items, 0)
    print_rates("recall on attacks (blocked at 0.7)", recall, higher_is_better=True)
    print_rates("recall per attack category", categories, higher_is_better=True)
    print_rates("false-positive rate on benign texts (blocked at 0.7)", fpr, higher_is_better=False)
    print(
        f"\nmacro recall over attack sources: fiduciary {macro_recall['macro_ours']:.3f}, "
        f"baseline {macro_recall['macro_baseline']:.3f}"
    )
    print(
        f"macro FPR over benign sources:    fiduciary {macro_fpr['macro_ours']:.3f}, "
        f"baseline {macro_fpr['macro_baseline']:.3f}"
    )
    for name, per in (("recall", macro_recall), ("FPR", macro_fpr)):
        for source, value in per["per_source_ours"].items():  # type: ignore[attr-defined]
            base = per["per_source_baseline"][source]  # type: ignore[index]
            print(f"  {name} {source:<50} fiduciary {value:.3f}  baseline {base:.3f}")
    upstream = upstream_table(items)
    print_upstream(upstream)
    gate = gate_table(items)
    print_gate(gate)
    print_latency(lat)
    print("\nfamilies firing on blocked attacks:", families_on_attacks(items))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "threshold": THRESHOLD,
                "items": len(items),
                "recall": recall,
                "recall_by_category": categories,
                "false_positive_rate": fpr,
                "upstream_context": upstream,
                "gate_default_policy": gate,
                "macro_recall": macro_recall,
                "macro_fpr": macro_fpr,
                "latency": lat,
                "families_on_blocked_attacks": families_on_attacks(items),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
