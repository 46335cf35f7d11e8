"""do_ping's echo against the real kernel on loopback, in every socket mode the executor may run in.

127.0.0.1 always answers in this network namespace, so the cases that need something else run the ping
in a child process in a private network namespace of its own (unshare --net, loopback up): one that
ignores echo requests (net.ipv4.icmp_echo_ignore_all is per namespace) for a real timeout, and ones
without CAP_NET_RAW (setpriv) for the unprivileged datagram socket and for no socket at all. The sysctls
changed there belong to that namespace alone. These skip, saying why, where namespaces are not allowed.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from executor.ping import go_duration, ping

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
UNSHARE, SETPRIV = shutil.which("unshare"), shutil.which("setpriv")
CHILD = (
    "import asyncio, json, sys; from executor.ping import ping; "
    "print(json.dumps(asyncio.run(ping(sys.argv[1], size=100, ttl=64, timeout=1.0))))"
)
FIELDS = {"Result", "Time", "RTT", "RTTNano", "Size", "TTL", "ResponseFrom"}


def default_ttl() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_default_ttl").read_text())


def parse_time(text: str) -> int:
    """ns since the epoch of an RFC 3339 UTC time with Z."""
    assert text.endswith("Z"), text
    since = datetime.fromisoformat(text[:-1] + "+00:00") - datetime(1970, 1, 1, tzinfo=UTC)
    return since // timedelta(microseconds=1) * 1000


async def test_loopback_answers() -> None:
    before = time.time_ns() // 1000 * 1000
    result = await ping("127.0.0.1", size=64, ttl=254, timeout=3)
    after = time.time_ns()
    assert set(result) == FIELDS, result
    assert result["Result"] == "ok" and result["ResponseFrom"] == "127.0.0.1"
    assert result["Size"] == 64
    assert result["TTL"] == default_ttl()  # the replier's TTL, not the one we sent
    assert result["RTTNano"] > 0 and result["RTT"] == go_duration(result["RTTNano"])
    assert before <= parse_time(result["Time"]) <= after


async def test_sizes_ttls_and_other_loopback_addresses() -> None:
    results = await asyncio.gather(
        ping("127.0.0.1", size=1500, ttl=1, timeout=3),
        ping("127.0.0.2", size=1, ttl=64, timeout=3),
        *(ping("127.0.0.1", size=64, ttl=64, timeout=3) for _ in range(4)),
    )
    assert [r["Result"] for r in results] == ["ok"] * 6, results
    assert [r["Size"] for r in results[:2]] == [1500, 1]
    assert results[1]["ResponseFrom"] == "127.0.0.2"


async def test_ipv6_loopback_answers() -> None:
    if "00000000000000000000000000000001" not in Path("/proc/net/if_inet6").read_text():
        pytest.skip("no ::1 here (IPv6 disabled)")
    result = await ping("::1", size=64, ttl=64, timeout=3)
    assert (result["Result"], result["ResponseFrom"], result["Size"]) == ("ok", "::1", 64)
    assert result["TTL"] > 0


async def test_a_bad_address_is_an_error() -> None:
    result = await ping("router.example", size=64, ttl=64, timeout=1)
    assert result["Result"] == "error" and result["Error"] == "not an IP address: 'router.example'"
    assert (result["RTTNano"], result["RTT"], result["Size"], result["TTL"]) == (0, "0s", 0, 0)


def in_namespace(setup: str, *, net_raw: bool, target: str = "127.0.0.1") -> dict[str, Any]:
    """ping(target) in a child in a fresh network namespace after the shell commands in setup."""
    if not (UNSHARE and SETPRIV):
        pytest.skip("unshare/setpriv (util-linux) are not installed")
    probe = subprocess.run([UNSHARE, "--net", "true"], capture_output=True, text=True, check=False)
    if probe.returncode:
        pytest.skip(f"no private network namespace here: {probe.stderr.strip()}")
    drop = [] if net_raw else [SETPRIV, "--inh-caps=-net_raw", "--bounding-set=-net_raw"]
    script = f'ip link set lo up && {setup or "true"} && exec "$@"'
    done = subprocess.run(
        [UNSHARE, "--net", "sh", "-c", script, "sh", *drop, sys.executable, "-c", CHILD, target],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_an_address_that_does_not_answer_times_out() -> None:
    result = in_namespace("echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all", net_raw=True)
    assert (result["Result"], result["RTTNano"], result["ResponseFrom"]) == ("timeout", 0, ""), result


def test_unprivileged_datagram_icmp_when_the_group_may() -> None:
    result = in_namespace('echo "0 0" > /proc/sys/net/ipv4/ping_group_range', net_raw=False)
    assert (result["Result"], result["ResponseFrom"], result["Size"]) == ("ok", "127.0.0.1", 100), result
    assert result["TTL"] == default_ttl()


def test_no_icmp_socket_at_all_is_an_error_that_says_what_to_change() -> None:
    result = in_namespace('echo "1 0" > /proc/sys/net/ipv4/ping_group_range', net_raw=False)
    assert result["Result"] == "error", result
    assert "CAP_NET_RAW" in result["Error"] and "net.ipv4.ping_group_range" in result["Error"]


def test_an_unreachable_network_is_an_error() -> None:
    result = in_namespace("", net_raw=True, target="192.0.2.1")  # the namespace has no route but loopback
    assert result["Result"] == "error" and "Network is unreachable" in result["Error"], result


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (999, "999ns"),
        (1_000, "1µs"),
        (123_456, "123.456µs"),
        (1_200_000, "1.2ms"),
        (999_999_999, "999.999999ms"),
        (1_500_000_000, "1.5s"),
        (61_000_000_000, "1m1s"),
        (3_600_000_000_000, "1h0m0s"),
        (-2_000, "-2µs"),
    ],
)
def test_durations_read_as_go_writes_them(ns: int, text: str) -> None:
    assert go_duration(ns) == text
