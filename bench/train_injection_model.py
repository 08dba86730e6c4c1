"""Would a small learned component help the rules? Leave-one-source-out says no.

    python bench/train_injection_model.py [--corpus PATH] [--epochs N]

Trains a hashed character n-gram logistic regression (3- to 5-grams of the scorer's folded
view, 2**16 buckets, L2-normalised counts, class-balanced SGD, fixed seed: deterministic,
pure Python) and measures, for each source of the corpus held out in turn, what adding it
to the rules would do at the 0.7 threshold. The model enters the composite score as one
more family ("model"), with weight ``cap * (p - 0.5) / 0.5`` when its probability p
exceeds 0.5, for several caps. Nothing is shipped unless it raises recall on held-out
sources without raising their false positives; see docs/INJECTION.md for the outcome.
Writes ``bench/results/injection_model_loso.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import zlib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fiduciary.injection import Match  # noqa: E402
from fiduciary.injection.normalize import fold  # noqa: E402
from fiduciary.injection.scoring import combine, scan  # noqa: E402

BUCKETS = 1 << 16
SEED = 7
CAPS = (0.6, 0.8, 0.9)
SOURCES = ("PurpleLlama", "InjecAgent", "AIOS_agent", "PIGuard", "awesome-chatgpt-prompts", "BIPIA", "PolyAI")

Features = dict[int, float]


def features(text: str) -> Features:
    """L2-normalised hashed character 3-, 4- and 5-grams of the folded text."""
    folded = " " + fold(text[:4000]).text + " "
    counts: Counter[int] = Counter()
    for n in (3, 4, 5):
        for i in range(len(folded) - n + 1):
            counts[zlib.crc32(folded[i : i + n].encode("utf-8", "replace")) & (BUCKETS - 1)] += 1
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    return {k: v / norm for k, v in counts.items()}


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def train(rows: list[dict[str, object]], epochs: int) -> tuple[list[float], float]:
    """Class-balanced logistic regression by SGD, in a fixed order."""
    weights, bias = [0.0] * BUCKETS, 0.0
    order = list(range(len(rows)))
    positives = sum(int(r["label"]) for r in rows)  # type: ignore[call-overload]
    balance = {1: len(rows) / (2 * max(1, positives)), 0: len(rows) / (2 * max(1, len(rows) - positives))}
    rng = random.Random(SEED)
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            x: Features = rows[i]["x"]  # type: ignore[assignment]
            label = int(rows[i]["label"])  # type: ignore[call-overload]
            gradient = (_sigmoid(bias + sum(weights[k] * v for k, v in x.items())) - label) * balance[label]
            for k, v in x.items():
                weights[k] -= 0.5 * (gradient * v + 1e-5 * weights[k])
            bias -= 0.5 * gradient
    return weights, bias


def _source(raw: str) -> str:
    return next((s for s in SOURCES if s in raw), raw)


def _blocked(rules: list[Match], probability: float, cap: float | None) -> bool:
    matches = list(rules)
    if cap is not None and probability > 0.5:
        matches.append(Match("model.ngram_lr", "model", cap * (probability - 0.5) / 0.5, 0, 0))
    return combine(matches) >= 0.7


def main() -> int:
    """Run the leave-one-source-out comparison and write its results."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "injection-corpus")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "injection_model_loso.json")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    for path in sorted(args.corpus.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            rows.append(
                {
                    "label": int(row["label"]),
                    "source": _source(row["source"]),
                    "x": features(row["text"]),
                    "rules": scan(row["text"])[0],
                }
            )
    results = []
    print(
        f"{'held-out source':<26} {'n+':>4} {'n-':>4}  "
        + "  ".join(f"{'rules' if c is None else f'+model@{c}':>16}" for c in (None, *CAPS))
    )
    for held_out in sorted({str(r["source"]) for r in rows}):
        weights, bias = train([r for r in rows if r["source"] != held_out], args.epochs)
        test = [r for r in rows if r["source"] == held_out]
        probabilities = [_sigmoid(bias + sum(weights[k] * v for k, v in r["x"].items())) for r in test]  # type: ignore[attr-defined]
        row_out: dict[str, object] = {
            "source": held_out,
            "attacks": sum(int(r["label"]) for r in test),  # type: ignore[call-overload]
            "benign": sum(1 - int(r["label"]) for r in test),
        }  # type: ignore[call-overload]
        cells = []
        for cap in (None, *CAPS):
            verdicts = [_blocked(r["rules"], p, cap) for r, p in zip(test, probabilities, strict=True)]  # type: ignore[arg-type]
            tp = sum(1 for r, v in zip(test, verdicts, strict=True) if v and r["label"] == 1)
            fp = sum(1 for r, v in zip(test, verdicts, strict=True) if v and r["label"] == 0)
            row_out["rules" if cap is None else f"model_cap_{cap}"] = {"true_positives": tp, "false_positives": fp}
            cells.append(f"tp {tp:>3} fp {fp:>3}")
        results.append(row_out)
        print(f"{held_out:<26} {row_out['attacks']:>4} {row_out['benign']:>4}  " + "  ".join(f"{c:>16}" for c in cells))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"buckets": BUCKETS, "epochs": args.epochs, "seed": SEED, "per_source": results}, indent=2),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
