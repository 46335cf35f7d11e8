"""Template mining: netobs's Miner against stock Drain3's TemplateMiner, side by side in one process.

Both mine the same synthetic message bodies (bench/corpus.py: 86 known templates). Stock Drain3 gets
regex masking instructions for the same kinds ours masks (UUID, MAC, e-mail, time, IPv6, IPv4 with
port, hex, numbers), default Drain settings, no persistence. Rounds alternate which miner goes first;
each round starts both from scratch (our token memo included). Reported: lines/s (median of rounds)
and their ratio; grouping against the truth (pairwise precision/recall/F1, adjusted Rand index,
grouping accuracy as in the Drain papers, cluster counts); agreement between the two groupings; a few
templates where they differ, with what each miner made of them.

Then an accuracy table over the labelled corpora of twelve systems (bench/labelled.py, generated with a fixed
seed): grouping accuracy (a line is right when its mined cluster holds exactly the lines of its true
template) and parsing accuracy (its final template equals the true one, every variable token written
<*> and runs of <*> as one), ours and stock Drain3 side by side, with the means. Last, an adversarial
section: lines/s of both on clean lines and on garbage (random bytes, random tokens, one new template per
line), and ours over the last quarter of the garbage (the cost per line stays bounded). The last line is
one JSON object.

    python bench/patterns.py [--lines 200000] [--rounds 3] [--seed 1] [--labelled-lines 5000]
                             [--adversarial-lines 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import string
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus import TEMPLATES, generate
from drain3.masking import LogMasker, MaskingInstruction
from drain3.template_miner import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig
from labelled import SYSTEMS, truth_template
from labelled import generate as generate_labelled

from processors.syslog.masking import clear_memo, mask
from processors.syslog.miner import Miner

_B = r"(?<![A-Za-z0-9])"  # token boundaries, as in Drain3's own examples
_E = r"(?![A-Za-z0-9])"
_H = "[0-9a-fA-F]"
_TIME = r"\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?|\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?"
_IP6 = rf"(?:{_H}{{1,4}}:){{7}}{_H}{{1,4}}|(?:{_H}{{1,4}}:){{1,6}}:(?:{_H}{{1,4}}:){{0,5}}{_H}{{0,4}}"
# Same kinds as processors.syslog.masking, in an order where the specific ones go first; hex needs a letter and
# a digit, as ours does (all-digit tokens are numbers).
STOCK_MASKING = [
    (rf"{_B}{_H}{{8}}-{_H}{{4}}-{_H}{{4}}-{_H}{{4}}-{_H}{{12}}{_E}", "UUID"),
    (rf"{_B}(?:{_H}{{2}}[:-]){{5}}{_H}{{2}}{_E}|{_B}{_H}{{4}}\.{_H}{{4}}\.{_H}{{4}}{_E}", "MAC"),
    (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "EMAIL"),
    (rf"{_B}(?:{_TIME}){_E}", "TIME"),
    (rf"{_B}(?:{_IP6}){_E}", "IP"),
    (rf"{_B}\d{{1,3}}(?:\.\d{{1,3}}){{3}}(?::\d{{1,5}})?{_E}", "IP"),
    (rf"{_B}0[xX]{_H}+{_E}|{_B}(?=\d*[a-fA-F])(?=[a-fA-F]*\d){_H}{{8,}}{_E}", "HEX"),
    (rf"{_B}[-+]?\d+(?:\.\d+)?{_E}", "NUM"),
]


def stock_config() -> TemplateMinerConfig:
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(p, name) for p, name in STOCK_MASKING]
    config.profiling_enabled = False
    return config


def run_stock(bodies: Sequence[str]) -> tuple[float, list[int], dict[int, str]]:
    """Stock Drain3 with default settings: seconds, cluster id per line, final template per cluster id."""
    miner = TemplateMiner(config=stock_config())
    add = miner.add_log_message
    start = time.perf_counter()
    ids = [add(body)["cluster_id"] for body in bodies]
    elapsed = time.perf_counter() - start
    return elapsed, ids, {c.cluster_id: c.get_template() for c in miner.drain.clusters}


def run_ours(bodies: Sequence[str], times: Sequence[int], **settings: int) -> tuple[float, list[int], Miner]:
    """Ours with default settings (or settings): seconds, final template id per line, the miner."""
    clear_memo()
    miner = Miner(**settings)
    start = time.perf_counter()
    ids = miner.add_many(bodies, times)
    elapsed = time.perf_counter() - start
    current = {c.template_id: c.current_id for c in miner.changes()}
    return elapsed, [current.get(i, i) for i in ids], miner


def scores(pred: Sequence[Hashable], truth: Sequence[int]) -> dict[str, float | int]:
    """Pairwise precision/recall/F1, adjusted Rand index and grouping accuracy of a grouping."""
    n = len(truth)
    joint = Counter(zip(pred, truth, strict=True))
    by_pred = Counter(pred)
    by_truth = Counter(truth)

    def pairs(counts: Counter) -> int:
        return sum(c * (c - 1) // 2 for c in counts.values())

    same_both, same_pred, same_truth = pairs(joint), pairs(by_pred), pairs(by_truth)
    precision = same_both / same_pred if same_pred else 1.0
    recall = same_both / same_truth if same_truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    expected = same_pred * same_truth / (n * (n - 1) // 2)
    top = (same_pred + same_truth) / 2
    ari = (same_both - expected) / (top - expected) if top != expected else 1.0
    truths_of: dict[Hashable, list[int]] = defaultdict(list)
    for p, t in joint:
        truths_of[p].append(t)
    exact = sum(by_pred[p] for p, ts in truths_of.items() if len(ts) == 1 and by_pred[p] == by_truth[ts[0]])
    return {
        "clusters": len(by_pred),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "ari": round(ari, 4),
        "grouping_accuracy": round(exact / n, 4),
    }


def show_differences(
    bodies: Sequence[str],
    truth: Sequence[int],
    stock_ids: Sequence[int],
    stock_templates: dict[int, str],
    our_ids: Sequence[int],
    ours: Miner,
    limit: int = 4,
) -> None:
    """Templates that one miner splits or merges and the other does not, with both miners' view."""
    stock_of: dict[int, Counter] = defaultdict(Counter)
    ours_of: dict[int, Counter] = defaultdict(Counter)
    example: dict[tuple[str, int], str] = {}
    for body, t, s, o in zip(bodies, truth, stock_ids, our_ids, strict=True):
        stock_of[t][s] += 1
        ours_of[t][o] += 1
        example.setdefault(("stock", s), body)
    truths_in: dict[tuple[str, int], set[int]] = defaultdict(set)
    for t, s, o in zip(truth, stock_ids, our_ids, strict=True):
        truths_in[("stock", s)].add(t)
        truths_in[("ours", o)].add(t)

    def pieces(t: int) -> tuple[int, int]:
        return len(stock_of[t]), len(ours_of[t])

    split = sorted(stock_of, key=lambda t: pieces(t)[1] - pieces(t)[0])
    print("\n-- true templates split into more clusters by stock Drain3 than by ours --")
    for t in [t for t in split if pieces(t)[0] > pieces(t)[1]][:limit]:
        print(f"truth : {TEMPLATES[t]}\n  stock: {pieces(t)[0]} clusters, e.g.")
        for s, _ in stock_of[t].most_common(3):
            print(f"    {stock_templates[s]}\n      from: {example[('stock', s)]}")
        o = ours_of[t].most_common(1)[0][0]
        print(f"  ours : {pieces(t)[1]} cluster(s): {ours.template(o)}")
        print(f"    masked: {mask(example[('stock', stock_of[t].most_common(1)[0][0])])}")
    print("\n-- true templates split into more clusters by ours than by stock Drain3 --")
    worse = [t for t in reversed(split) if pieces(t)[1] > pieces(t)[0]][:limit]
    for t in worse:
        print(f"truth : {TEMPLATES[t]}\n  ours : {pieces(t)[1]} clusters:")
        for o, _ in ours_of[t].most_common(3):
            print(f"    {ours.template(o)}")
        print(f"  stock: {pieces(t)[0]} cluster(s): {stock_templates[stock_of[t].most_common(1)[0][0]]}")
    if not worse:
        print("(none)")
    merged = [(k, ts) for k, ts in truths_in.items() if len(ts) > 1]
    print(f"\n-- clusters mixing true templates: stock {sum(k[0] == 'stock' for k, _ in merged)}, "
          f"ours {sum(k[0] == 'ours' for k, _ in merged)} --")  # fmt: skip
    for (who, cid), ts in merged[: 2 * limit]:
        text = stock_templates[cid] if who == "stock" else ours.template(cid)
        print(f"  {who:5}: {text}  <- {len(ts)} true templates")


def normalised(template: str) -> str:
    """A template for parsing accuracy: each token holding a variable (<*> or a typed placeholder) as <*>,
    runs of <*> as one, whitespace single. Applied alike to the truth, ours and stock Drain3's."""
    out: list[str] = []
    for token in template.split():
        if "<" in token and _PLACEHOLDER.search(token) is not None:
            if out and out[-1] == "<*>":
                continue
            token = "<*>"
        out.append(token)
    return " ".join(out)


_PLACEHOLDER = re.compile(r"<(?:\*|[A-Z]+)>")


def accuracy_table(lines: int, seed: int) -> dict[str, object]:
    """Grouping and parsing accuracy of both miners on each labelled system, printed and returned."""
    print(f"\n-- accuracy on labelled corpora ({len(SYSTEMS)} systems, {lines} lines each, seed {seed}) --")
    print(f"{'system':12}{'templates':>10}{'GA ours':>9}{'GA stock':>9}{'PA ours':>9}{'PA stock':>9}")
    rows: dict[str, dict[str, float]] = {}
    for system in SYSTEMS:
        bodies, truth, templates = generate_labelled(system, lines, seed)
        _, our_ids, ours = run_ours(bodies, range(len(bodies)))
        _, stock_ids, stock_templates = run_stock(bodies)
        truths = [normalised(truth_template(templates[t])) for t in truth]
        our_pa = sum(normalised(ours.template(i) or "") == t for i, t in zip(our_ids, truths, strict=True))
        stock_pa = sum(normalised(stock_templates[i]) == t for i, t in zip(stock_ids, truths, strict=True))
        row = {
            "ga_ours": scores(our_ids, truth)["grouping_accuracy"],
            "ga_stock": scores(stock_ids, truth)["grouping_accuracy"],
            "pa_ours": round(our_pa / len(bodies), 4),
            "pa_stock": round(stock_pa / len(bodies), 4),
        }
        rows[system] = row
        print(f"{system:12}{len(set(truth)):>10}{row['ga_ours']:>9.3f}{row['ga_stock']:>9.3f}"
              f"{row['pa_ours']:>9.3f}{row['pa_stock']:>9.3f}", flush=True)  # fmt: skip
    mean = {k: round(statistics.mean(r[k] for r in rows.values()), 4) for k in next(iter(rows.values()))}
    print(f"{'mean':12}{'':>10}{mean['ga_ours']:>9.3f}{mean['ga_stock']:>9.3f}{mean['pa_ours']:>9.3f}"
          f"{mean['pa_stock']:>9.3f}")  # fmt: skip
    return {"systems": rows, "mean": mean}


def garbage(lines: int, seed: int) -> list[str]:
    """What a fault-injection run sends: random bytes (as the parser decodes them), random printable
    tokens, and lines of random words (one new template per line)."""
    rng = random.Random(seed)
    out = []
    for i in range(lines):
        kind = i % 3
        if kind == 0:
            out.append(bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 120))).decode("utf-8", "replace"))
        elif kind == 1:
            alphabet = string.ascii_letters + string.digits + string.punctuation
            out.append(" ".join("".join(rng.choices(alphabet, k=rng.randint(1, 9))) for _ in range(rng.randint(1, 14))))
        else:
            words = (
                "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 8))) for _ in range(rng.randint(3, 9))
            )
            out.append("app " + " ".join(words))
    return out


def adversarial_rates(lines: int, seed: int) -> dict[str, float]:
    """lines/s of both miners on clean lines and on garbage; ours on the last quarter of the garbage too."""
    clean, _ = generate(lines, seed)
    noise = garbage(lines, seed)
    out: dict[str, float] = {}
    for name, bodies in (("clean", clean), ("adversarial", noise)):
        elapsed, _, _ = run_stock(bodies)
        out[f"stock_{name}"] = round(len(bodies) / elapsed)
        elapsed, _, _ = run_ours(bodies, range(len(bodies)))
        out[f"ours_{name}"] = round(len(bodies) / elapsed)
    clear_memo()
    miner = Miner()
    quarter = len(noise) * 3 // 4
    miner.add_many(noise[:quarter], range(quarter))
    start = time.perf_counter()
    miner.add_many(noise[quarter:], range(len(noise) - quarter))
    out["ours_adversarial_last_quarter"] = round((len(noise) - quarter) / (time.perf_counter() - start))
    out["ours_clusters_after"] = len(miner)
    print(f"\n-- adversarial ({lines} lines each) --")
    print(f"clean:       stock {out['stock_clean']:>9,} lines/s, ours {out['ours_clean']:>9,} lines/s "
          f"({out['ours_clean'] / out['stock_clean']:.2f}x)")  # fmt: skip
    print(f"adversarial: stock {out['stock_adversarial']:>9,} lines/s, ours {out['ours_adversarial']:>9,} lines/s "
          f"({out['ours_adversarial'] / out['stock_adversarial']:.2f}x); ours over the last quarter "
          f"{out['ours_adversarial_last_quarter']:,} lines/s, {len(miner):,} clusters")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--labelled-lines", type=int, default=5000, help="lines per labelled system")
    parser.add_argument("--adversarial-lines", type=int, default=20_000)
    args = parser.parse_args()

    print(f"generating {args.lines} bodies from {len(TEMPLATES)} templates (seed {args.seed})", flush=True)
    bodies, truth = generate(args.lines, args.seed)
    times = list(range(len(bodies)))

    sample = bodies[: min(len(bodies), 50_000)]
    masker = LogMasker(stock_config().masking_instructions, "<", ">")
    start = time.perf_counter()
    for body in sample:
        masker.mask(body)
    stock_mask_rate = len(sample) / (time.perf_counter() - start)
    clear_memo()
    start = time.perf_counter()
    for body in sample:
        mask(body)
    our_mask_rate = len(sample) / (time.perf_counter() - start)
    print(f"masking only ({len(sample)} bodies): stock {stock_mask_rate:,.0f}/s, ours {our_mask_rate:,.0f}/s "
          f"({our_mask_rate / stock_mask_rate:.2f}x)", flush=True)  # fmt: skip

    stock_rates: list[float] = []
    our_rates: list[float] = []
    for r in range(args.rounds):
        for who in ("stock", "ours") if r % 2 == 0 else ("ours", "stock"):
            if who == "stock":
                elapsed, stock_ids, stock_templates = run_stock(bodies)
                stock_rates.append(len(bodies) / elapsed)
            else:
                elapsed, our_ids, ours = run_ours(bodies, times)
                our_rates.append(len(bodies) / elapsed)
            print(f"round {r + 1}/{args.rounds} {who:5}: {elapsed:6.2f} s, {len(bodies) / elapsed:10,.0f} lines/s",
                  flush=True)  # fmt: skip
    stock_rate = statistics.median(stock_rates)
    our_rate = statistics.median(our_rates)
    ratios = [o / s for o, s in zip(our_rates, stock_rates, strict=True)]

    stock_scores = scores(stock_ids, truth)
    our_scores = scores(our_ids, truth)
    _, depth4_ids, _ = run_ours(bodies, times, depth=4)
    depth4_scores = scores(depth4_ids, truth)
    agreement = scores(our_ids, stock_ids)["ari"]

    show_differences(bodies, truth, stock_ids, stock_templates, our_ids, ours)
    print(f"\n{'':14}{'clusters':>9}{'precision':>10}{'recall':>8}{'F1':>8}{'ARI':>8}{'GA':>8}")
    for name, s in (("truth", None), ("stock drain3", stock_scores), ("ours", our_scores),
                    ("ours depth=4", depth4_scores)):  # fmt: skip
        if s is None:
            print(f"{name:14}{len(set(truth)):>9}")
            continue
        print(f"{name:14}{s['clusters']:>9}{s['precision']:>10}{s['recall']:>8}{s['f1']:>8}{s['ari']:>8}"
              f"{s['grouping_accuracy']:>8}")  # fmt: skip
    print(f"agreement ours vs stock (ARI): {agreement}")
    print(f"lines/s: stock {stock_rate:,.0f}, ours {our_rate:,.0f}, ratio {our_rate / stock_rate:.2f}x "
          f"(per round: {', '.join(f'{x:.2f}' for x in ratios)})")  # fmt: skip
    accuracy = accuracy_table(args.labelled_lines, args.seed)
    adversarial = adversarial_rates(args.adversarial_lines, args.seed)
    print(
        json.dumps(
            {
                "bench": "patterns",
                "lines": len(bodies),
                "true_templates": len(set(truth)),
                "rounds": args.rounds,
                "stock_lines_per_s": round(stock_rate),
                "ours_lines_per_s": round(our_rate),
                "speed_ratio": round(our_rate / stock_rate, 2),
                "speed_ratio_min": round(min(ratios), 2),
                "mask_only_ratio": round(our_mask_rate / stock_mask_rate, 2),
                "stock": stock_scores,
                "ours": our_scores,
                "ours_depth4": depth4_scores,
                "labelled": accuracy,
                "adversarial": adversarial,
                "f1_ratio": round(our_scores["f1"] / stock_scores["f1"], 3) if stock_scores["f1"] else None,
                "agreement_ari": agreement,
            }
        )
    )


if __name__ == "__main__":
    main()
