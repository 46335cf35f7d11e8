"""processors.monitoring.thresholds.evaluate: the raw state and reason of one poll result."""

import pytest

from processors.monitoring.thresholds import evaluate
from schemas.inventory import Threshold
from schemas.polls import PollResult


def result(outcome="ok", level="low", thresholds=(), values=None, error=""):
    return PollResult(
        "p1", "n1", "ping", "node1", "ping", level, list(thresholds), True, 1, 1000, outcome, values or {}, {}, error
    )


RTT_WARN = Threshold("rtt_ms", ">", 500, "warn")
LOSS_FAIL = Threshold("loss", ">=", 0.5, "fail")


def test_fail_gives_the_level_and_the_error():
    assert evaluate(result("fail", level="high", error="timeout")) == ("high", "timeout")
    assert evaluate(result("fail", level="warn")) == ("warn", "failed")


def test_unknown_gives_unknown_whatever_the_thresholds():
    assert evaluate(result("unknown", thresholds=[RTT_WARN], values={"rtt_ms": 900}, error="no credential")) == (
        "unknown",
        "no credential",
    )


def test_fail_ignores_thresholds():
    assert evaluate(result("fail", level="low", thresholds=[RTT_WARN], values={"rtt_ms": 1.0}, error="x")) == (
        "low",
        "x",
    )


def test_ok_without_a_threshold_holding_is_normal():
    assert evaluate(result()) == ("normal", "ok")
    assert evaluate(result(thresholds=[RTT_WARN], values={"rtt_ms": 500.0})) == ("normal", "ok")


def test_warn_threshold_gives_warn_with_readable_reason():
    assert evaluate(result(thresholds=[RTT_WARN], values={"rtt_ms": 512.3})) == ("warn", "rtt_ms 512.3 > 500")


def test_fail_threshold_gives_the_level():
    assert evaluate(result(level="high", thresholds=[LOSS_FAIL], values={"loss": 1.0})) == ("high", "loss 1 >= 0.5")
    assert evaluate(result(level="warn", thresholds=[LOSS_FAIL], values={"loss": 1.0}))[0] == "warn"


def test_the_worst_holding_threshold_wins_and_leads_the_reason():
    values = {"rtt_ms": 900.0, "loss": 0.6}
    state, reason = evaluate(result(level="low", thresholds=[RTT_WARN, LOSS_FAIL], values=values))
    assert state == "low"
    assert reason == "loss 0.6 >= 0.5; rtt_ms 900 > 500"
    state, reason = evaluate(result(level="low", thresholds=[LOSS_FAIL, RTT_WARN], values=values))
    assert (state, reason) == ("low", "loss 0.6 >= 0.5; rtt_ms 900 > 500")


def test_threshold_on_a_missing_key_is_ignored_but_named():
    state, reason = evaluate(result(thresholds=[LOSS_FAIL, RTT_WARN], values={"rtt_ms": 600.0}))
    assert state == "warn"
    assert reason == "rtt_ms 600 > 500; no value for loss"
    assert evaluate(result(thresholds=[LOSS_FAIL], values={})) == ("normal", "ok; no value for loss")


@pytest.mark.parametrize(
    ("op", "holds_at"),
    [("<", [1]), ("<=", [1, 2]), (">", [3]), (">=", [2, 3]), ("==", [2]), ("!=", [1, 3])],
)
def test_every_comparison(op, holds_at):
    threshold = Threshold("v", op, 2, "warn")
    for value in (1, 2, 3):
        expected = "warn" if value in holds_at else "normal"
        assert evaluate(result(thresholds=[threshold], values={"v": float(value)}))[0] == expected, (op, value)


def test_large_and_fractional_numbers_stay_readable():
    threshold = Threshold("sysUpTime", "<", 6000, "fail")
    assert evaluate(result(thresholds=[threshold], values={"sysUpTime": 123.25}))[1] == "sysUpTime 123.25 < 6000"
    threshold = Threshold("days_left", ">", 1e6, "warn")
    assert (
        evaluate(result(thresholds=[threshold], values={"days_left": 123456789.0}))[1]
        == "days_left 123456789 > 1000000"
    )
