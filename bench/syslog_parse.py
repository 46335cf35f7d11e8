"""parse() against a baseline parse.py (by default the one on main): speed on a realistic mix, and field
accuracy on the labelled corpus (tests/data/syslog_corpus/samples.jsonl), in one process.

The mix wraps bench/corpus.py's message bodies in the framings seen in the field: half BSD with a tag and
PID, a quarter Cisco IOS with a sequence number and mnemonic, a fifth RFC 5424 with SD, the rest the
corpus's vendor lines; the times advance as in a stream of 1000 lines/s. Rounds alternate which parser
goes first; lines/s is the median of rounds. Accuracy counts a sample right when every field it asserts is
right (all_but_compliance leaves out the columns the baseline lacks), and each field separately. The last
line is one JSON object.

    python bench/syslog_parse.py [--lines 100000] [--rounds 5] [--baseline-rev main]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus import generate

from processors.syslog.parse import parse
from tests.unit.test_syslog_corpus import RECEIVED, SAMPLES, actual, expected, line_of

ROOT = Path(__file__).resolve().parents[1]
Parse = Callable[[bytes, int, str], Any]
_NEW_FIELDS = ("compliance", "parse_issues")  # the baseline has none: scored apart from the header fields


def baseline(rev: str) -> Parse:
    """parse() of processors/syslog/parse.py at rev, loaded as a module of its own."""
    text = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:processors/syslog/parse.py"], check=True, capture_output=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "baseline_parse.py"
    path.write_bytes(text)
    spec = importlib.util.spec_from_file_location("baseline_parse", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_parse"] = module
    spec.loader.exec_module(module)
    return module.parse  # type: ignore[no-any-return]


def mix(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    bodies, _ = generate(n, seed)
    vendor = [line_of(s) for s in SAMPLES]
    out = []
    for i, body in enumerate(bodies):
        r = rng.random()
        t = 36_000 + i // 1000  # a stream in time order, 1000 lines/s: neighbours mostly share a minute
        stamp = f"Nov 20 {t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"
        if r < 0.5:
            line = f"<{rng.randint(0, 191)}>{stamp} host{i % 50} app{i % 7}[{rng.randint(1, 99999)}]: {body}"
        elif r < 0.75:
            line = f"<189>{i}: *{stamp}.{rng.randint(0, 999):03d}: %LINK-3-UPDOWN: {body}"
        elif r < 0.95:
            line = f'<14>1 2025-11-20T10:11:12.{i % 1000000:06d}+09:00 host{i % 50} app 12 ID1 [x@1 k="{i}"] {body}'
        else:
            out.append(vendor[i % len(vendor)])
            continue
        out.append(line.encode())
    return out


def rate(fn: Parse, lines: list[bytes]) -> float:
    start = time.perf_counter()
    for line in lines:
        fn(line, RECEIVED, "192.0.2.250")
    return len(lines) / (time.perf_counter() - start)


def accuracy(fn: Parse) -> dict[str, Any]:
    right = right_header = 0
    fields: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for sample in SAMPLES:
        try:
            got = actual(sample, fn)
        except Exception:  # a baseline that raises scores the sample wrong
            got = {}
        want = expected(sample)
        right += got == want
        right_header += all(got.get(f) == v for f, v in want.items() if f not in _NEW_FIELDS)
        for field, value in want.items():
            totals[field] += 1
            fields[field] += got.get(field) == value
    n = len(SAMPLES)
    per_field = {f: round(fields[f] / totals[f], 3) for f in totals}
    return {"all_fields": round(right / n, 3), "all_but_compliance": round(right_header / n, 3), **per_field}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-rev", default="main")
    args = parser.parse_args()
    old = baseline(args.baseline_rev)
    lines = mix(args.lines, args.seed)
    rates: dict[str, list[float]] = {"baseline": [], "current": []}
    for r in range(args.rounds):
        order = [("baseline", old), ("current", parse)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            rates[name].append(rate(fn, lines))
    speed = {name: statistics.median(v) for name, v in rates.items()}
    acc = {"baseline": accuracy(old), "current": accuracy(parse)}
    print(f"corpus: {len(SAMPLES)} samples")
    for name in ("baseline", "current"):
        print(f"{name:9} {speed[name]:>10,.0f} lines/s  accuracy {acc[name]}")
    ratio = speed["current"] / speed["baseline"]
    print(f"speed ratio current/baseline: {ratio:.3f}")
    print(json.dumps({"lines_per_s": {k: round(v) for k, v in speed.items()}, "ratio": round(ratio, 3),
                      "accuracy": acc, "samples": len(SAMPLES)}))  # fmt: skip


if __name__ == "__main__":
    main()
