"""SNMP traps: how many v2c traps per second netobs's receiver takes without loss, beside snmptrapd.

Offered load: a paced sender in its own process sends pre-encoded v2c linkDown traps (sysUpTime.0,
snmpTrapOID.0, ifIndex, ifAdminStatus, ifOperStatus, ifDescr; ~140 bytes, built once with pysnmp's
encoder) to 127.0.0.1 with sendmmsg (bench/_common.py) at each rate for --step-seconds. Every step
starts a fresh receiver, so its counts are exactly that step's:

  netobs     ingest.traps.service.serve() in a child process, producing to Apache Kafka (authenticated);
             accepted = traps Kafka acknowledged (its own counters, printed when it stops), after
             decoding, naming every varbind from the MIB table and batching
  snmptrapd  net-snmp's snmptrapd -f -n -C -c CONF -Lf FILE -F "%B %v\\n" (authCommunity log public,
             disableAuthorization yes): accepted = traps in the file, one line each with all varbinds

Steps alternate netobs / snmptrapd at each rate (which goes first alternates too: the machine is noisy),
--reps times, and medians are reported. Loss = 1 - accepted/sent. accepted/s = accepted / (time from the
first trap sent until the kernel holds nothing more for the receiver). Receive buffers are equalised:
netobs asks for 16 MiB with SO_RCVBUFFORCE (the kernel doubles it), snmptrapd gets the same through
serverRecvBuf. Result: the highest rate with median loss < --loss-threshold % (at it and every lower
rate) per receiver, and their ratio netobs / snmptrapd.

    .venv/bin/python bench/traps.py [--rates 2000,5000,10000,20000,40000] [--reps 3]

The last line printed is one JSON object with every figure. `bench/traps.py send ...` is the sender
child and `bench/traps.py netobs ...` the netobs child; both print one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

RECEIVERS = ("netobs", "snmptrapd")
RING = 5000
"""Distinct pre-encoded traps the sender cycles through."""
RCVBUF = 16 * 1024 * 1024
"""What ingest/traps.py asks for and snmptrapd is given (serverRecvBuf); the kernel doubles both."""
PARTITIONS = 4


# --- the traps and the sender (child process) ------------------------------------------------------


def trap_packets(count: int) -> list[bytes]:
    """v2c linkDown traps with varied index, states and descriptions, encoded by pysnmp (not by netobs)."""
    from pyasn1.codec.ber import encoder
    from pysnmp.proto.api import v2c

    packets = []
    for i in range(count):
        index = 1 + i % 48
        pdu = v2c.SNMPv2TrapPDU()
        v2c.apiTrapPDU.set_defaults(pdu)
        v2c.apiPDU.set_request_id(pdu, i)
        v2c.apiPDU.set_varbinds(
            pdu,
            [
                ((1, 3, 6, 1, 2, 1, 1, 3, 0), v2c.TimeTicks(100_000 + i)),
                ((1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0), v2c.ObjectIdentifier((1, 3, 6, 1, 6, 3, 1, 1, 5, 3 + i % 2))),
                ((1, 3, 6, 1, 2, 1, 2, 2, 1, 1, index), v2c.Integer(index)),
                ((1, 3, 6, 1, 2, 1, 2, 2, 1, 7, index), v2c.Integer(1 + i % 2)),
                ((1, 3, 6, 1, 2, 1, 2, 2, 1, 8, index), v2c.Integer(2 - i % 2)),
                ((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, index), v2c.OctetString(f"GigabitEthernet1/0/{index}".encode())),
            ],
        )
        msg = v2c.Message()
        v2c.apiMessage.set_defaults(msg)
        v2c.apiMessage.set_community(msg, "public")
        v2c.apiMessage.set_pdu(msg, pdu)
        packets.append(encoder.encode(msg))
    return packets


def send(port: int, rate: float, count: int) -> dict[str, Any]:
    """Send count traps to 127.0.0.1:port at rate/s with sendmmsg; what happened, with wall-clock times."""
    packets = trap_packets(min(count, RING))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        sock.connect((common.HOST, port))
        sent, failed, start = common._send_udp_ring(sock, packets, rate, count)
    end = time.time()
    seconds = max(end - start, 1e-9)
    return {"sent": sent, "errors": failed, "start": start, "end": end, "seconds": seconds, "rate": sent / seconds}


def run_sender(port: int, rate: float, count: int) -> dict[str, Any]:
    args = [sys.executable, __file__, "send", "--port", str(port), "--rate", str(rate), "--count", str(count)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60 + 3 * count / rate)
    if done.returncode != 0:
        raise RuntimeError(f"sender failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- netobs (child process) ------------------------------------------------------------------------


def netobs_main(port: int) -> int:
    """serve() until SIGTERM, then print its final counters as one JSON line; the broker from NETOBS_KAFKA_*."""
    from common.config import SnmpConfig
    from common.kafka_client import access
    from ingest.traps.service import TrapCounters, serve
    from netobs.config import load

    async def run() -> TrapCounters:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        counters = TrapCounters()
        config = SnmpConfig(trap_bind=common.HOST, trap_port=port)
        await serve(config, {}, access(load().kafka), PARTITIONS, stop, counters=counters, log_seconds=3600)
        return counters

    counters = asyncio.run(run())
    print(json.dumps(dataclasses.asdict(counters)), flush=True)
    return 0


class NetobsReceiver:
    """The netobs child on port (dies with this process); stop() returns its counters."""

    def __init__(self, port: int, broker: Any, log_path: Path) -> None:
        from tests import brokers

        self.log_path = log_path
        self._log_start = log_path.stat().st_size if log_path.exists() else 0
        args = [sys.executable, __file__, "netobs", "--port", str(port)]
        env = common.netobs_env(broker, log_path.parent / "netobs-data", "traps")
        self.proc = brokers.spawn(args, log_path, cwd=common.REPO_ROOT, env=env)
        try:
            common.wait_udp_bound(port, self.proc, timeout=60)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> dict[str, int]:
        """SIGTERM (it drains to Kafka), then the counters it printed last ({} if none)."""
        from tests import brokers

        brokers.stop(self.proc, timeout=60)
        with self.log_path.open("rb") as log:
            log.seek(self._log_start)
            lines = log.read().decode(errors="replace").splitlines()
        for line in reversed(lines):
            if line.startswith("{"):
                return json.loads(line)
        return {}


# --- snmptrapd ---------------------------------------------------------------------------------------


class Snmptrapd:
    """snmptrapd in the foreground on port, logging one line per trap to a file."""

    def __init__(self, binary: str, port: int, work: Path) -> None:
        from tests import brokers

        work.mkdir(parents=True, exist_ok=True)
        self.out = work / "traps.log"
        conf = work / "snmptrapd.conf"
        conf.write_text(f"authCommunity log public\ndisableAuthorization yes\n[snmp] serverRecvBuf {RCVBUF}\n")
        args = [binary, "-f", "-n", "-C", "-c", str(conf), "-m", "", "-Lf", str(self.out), "-F", "%B %v\n"]
        env = {"PATH": "/usr/bin:/bin", "SNMP_PERSISTENT_DIR": str(work)}
        self.proc = brokers.spawn([*args, f"udp:{common.HOST}:{port}"], work / "snmptrapd.stderr", env=env)
        try:
            common.wait_udp_bound(port, self.proc)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        from tests import brokers

        brokers.stop(self.proc)

    def traps(self) -> int:
        """Traps logged: lines that start with the sender's transport address (the %B of the format)."""
        if not self.out.exists():
            return 0
        with self.out.open("rb") as f:
            return sum(1 for line in f if line.startswith(b"UDP: "))


# --- steps ------------------------------------------------------------------------------------------


@dataclass
class Step:
    receiver: str
    rate: int
    rep: int
    sent: int
    offered_per_s: float
    accepted: int
    loss_pct: float
    accepted_per_s: float
    backlog_s: float
    kernel_drops: int
    internal_drops: int
    rcvbuf: int | None


def _measure(port: int, rate: int, count: int) -> tuple[dict[str, Any], float, int, int | None]:
    rcvbuf = common.receive_buffer("udp", port)
    sent = run_sender(port, rate, count)
    drained = common.wait_drained("udp", port)
    return sent, drained, common.socket_state("udp", port).drops, rcvbuf


def _step(receiver: str, rate: int, rep: int, sent: dict[str, Any], drained: float, accepted: int) -> Step:
    intake = max(sent["end"], drained) - sent["start"]
    return Step(
        receiver=receiver,
        rate=rate,
        rep=rep,
        sent=sent["sent"],
        offered_per_s=round(sent["rate"]),
        accepted=accepted,
        loss_pct=round(100 * (sent["sent"] - accepted) / max(sent["sent"], 1), 4),
        accepted_per_s=round(accepted / intake),
        backlog_s=round(max(0.0, drained - sent["end"]), 3),
        kernel_drops=0,
        internal_drops=0,
        rcvbuf=None,
    )


def netobs_step(args: argparse.Namespace, work: Path, broker: Any, rate: int, rep: int) -> Step:
    port = common.free_port_pair()
    receiver = NetobsReceiver(port, broker, work / "netobs.log")
    try:
        sent, drained, drops, rcvbuf = _measure(port, rate, int(rate * args.step_seconds))
    finally:
        counters = receiver.stop()
    step = _step("netobs", rate, rep, sent, drained, int(counters.get("delivered", 0)))
    step.kernel_drops = max(drops, int(counters.get("kernel_dropped", 0)))
    step.internal_drops = int(counters.get("dropped", 0)) + int(counters.get("malformed", 0))
    step.rcvbuf = rcvbuf
    return step


def snmptrapd_step(args: argparse.Namespace, work: Path, _broker: Any, rate: int, rep: int) -> Step:
    port = common.free_port_pair()
    directory = work / f"snmptrapd-{rate}-{rep}"
    receiver = Snmptrapd(args.snmptrapd, port, directory)
    try:
        sent, drained, drops, rcvbuf = _measure(port, rate, int(rate * args.step_seconds))
        _wait_settled(receiver)
    finally:
        receiver.stop()
    step = _step("snmptrapd", rate, rep, sent, drained, receiver.traps())
    step.kernel_drops = drops
    step.internal_drops = max(0, step.sent - drops - step.accepted)
    step.rcvbuf = rcvbuf
    shutil.rmtree(directory, ignore_errors=True)
    return step


def _wait_settled(receiver: Snmptrapd, quiet: float = 0.3, timeout: float = 30.0) -> None:
    """Until the log file has not grown for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        size = receiver.out.stat().st_size if receiver.out.exists() else 0
        if size != last:
            last, since = size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)


STEPS = {"netobs": netobs_step, "snmptrapd": snmptrapd_step}


def show(step: Step) -> None:
    common.say(
        f"  {step.rate:>7,}/s rep {step.rep} {step.receiver:<9} sent {step.sent:>8,} "
        f"(at {step.offered_per_s:>8,.0f}/s) accepted {step.accepted:>8,} loss {step.loss_pct:7.3f} % "
        f"accepted/s {step.accepted_per_s:>8,.0f} backlog {step.backlog_s:.2f} s "
        f"kernel drops {step.kernel_drops:,} internal drops {step.internal_drops:,}"
    )


def sweep(args: argparse.Namespace, work: Path, broker: Any, rates: list[int]) -> list[Step]:
    """Every rate, reps times, both receivers alternately; stops raising the rate once both are swamped."""
    steps: list[Step] = []
    for rate in rates:
        for rep in range(args.reps):
            order = RECEIVERS if rep % 2 == 0 else tuple(reversed(RECEIVERS))
            for receiver in order:
                step = STEPS[receiver](args, work, broker, rate, rep)
                show(step)
                steps.append(step)
        if all(median_of(steps, r, rate, "loss_pct") > args.give_up_loss for r in RECEIVERS):
            common.say(f"  both receivers lose more than {args.give_up_loss} % at {rate:,}/s: no higher rates")
            break
    return steps


def median_of(steps: list[Step], receiver: str, rate: int, field: str) -> float:
    return common.median([getattr(s, field) for s in steps if s.receiver == receiver and s.rate == rate])


def summary(steps: list[Step], threshold: float) -> dict[str, Any]:
    result: dict[str, Any] = {"by_rate": {}}
    free: dict[str, int] = {}
    at_top: dict[str, bool] = {}
    for receiver in RECEIVERS:
        rates = sorted({s.rate for s in steps if s.receiver == receiver})
        result["by_rate"][receiver] = {
            str(rate): {
                field: common.rounded(median_of(steps, receiver, rate, field), digits)
                for field, digits in (("loss_pct", 4), ("accepted_per_s", 0), ("offered_per_s", 0), ("backlog_s", 3))
            }
            for rate in rates
        }
        best, top = 0, True
        for rate in rates:
            if median_of(steps, receiver, rate, "loss_pct") >= threshold:
                top = False
                break
            best = rate
        free[receiver], at_top[receiver] = best, top
        result[f"{receiver}_loss_free_rate"] = best
        result[f"{receiver}_passed_every_rate"] = top
        result[f"{receiver}_max_accepted_per_s"] = max(
            (median_of(steps, receiver, r, "accepted_per_s") for r in rates), default=0
        )
    ratio = free["netobs"] / free["snmptrapd"] if free["snmptrapd"] else None
    result["ratio_loss_free_netobs_to_snmptrapd"] = common.rounded(ratio, 3) if ratio is not None else None
    if not free["snmptrapd"] or not free["netobs"]:
        kind = "a receiver failed the lowest rate tried: try lower --rates"
    elif at_top["netobs"] and at_top["snmptrapd"]:
        kind = "both passed the highest rate tried: undetermined, try higher --rates"
    elif at_top["netobs"]:
        kind = "netobs passed every rate tried: the true ratio is at least this"
    elif at_top["snmptrapd"]:
        kind = "snmptrapd passed every rate tried: the true ratio is at most this"
    else:
        kind = "exact"
    result["ratio_kind"] = kind
    a, b = result["netobs_max_accepted_per_s"], result["snmptrapd_max_accepted_per_s"]
    result["ratio_max_accepted_netobs_to_snmptrapd"] = common.rounded(a / b, 3) if b else None
    result["rcvbuf_bytes"] = {r: next((s.rcvbuf for s in steps if s.receiver == r), None) for r in RECEIVERS}
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="2000,5000,10000,20000,40000", help="traps/s, comma separated")
    parser.add_argument("--step-seconds", type=float, default=3.0, help="seconds per step: count = rate x this")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per rate and receiver (default 3)")
    parser.add_argument("--loss-threshold", type=float, default=0.1, help="loss-free means below this %% (0.1)")
    parser.add_argument("--give-up-loss", type=float, default=20.0, help="stop once both lose more than this %%")
    parser.add_argument("--snmptrapd", default=shutil.which("snmptrapd") or "/usr/sbin/snmptrapd", help="binary")
    parser.add_argument("--no-equal-buffers", action="store_true", help="do not raise net.core.rmem_max")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory (logs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.exit_on_sigterm()
    if not Path(args.snmptrapd).exists():
        sys.exit(f"snmptrapd not found ({args.snmptrapd}): apt-get install -y snmptrapd")
    rates = sorted(int(float(r)) for r in args.rates.split(","))
    work = common.scratch_dir("netobs-bench-traps-")
    started = time.monotonic()
    try:
        with (
            common.rmem_max_at_least(2 * RCVBUF, not args.no_equal_buffers) as rmem_max,
            common.kafka(work) as broker,
        ):
            common.say(f"net.core.rmem_max {rmem_max}; scratch {work}")
            common.say(f"rates {rates}, {args.step_seconds} s per step, {args.reps} reps, v2c linkDown traps")
            steps = sweep(args, work, broker, rates)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    result = {
        "benchmark": "traps",
        "params": {
            "rates": rates,
            "step_seconds": args.step_seconds,
            "reps": args.reps,
            "loss_threshold_pct": args.loss_threshold,
            "rmem_max": rmem_max,
            "trap": "v2c linkDown, 6 varbinds, ~140 bytes, community public",
            "netobs_counts": "traps acknowledged by Kafka (Apache Kafka, authenticated), after decode and naming",
            "snmptrapd_counts": "traps written to its log file, one line each with all varbinds",
        },
        "summary": summary(steps, args.loss_threshold),
        "steps": [asdict(s) for s in steps],
        "seconds": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("send", "netobs"):
        child = argparse.ArgumentParser(prog=f"traps.py {sys.argv[1]}")
        child.add_argument("--port", type=int, required=True)
        child.add_argument("--rate", type=float, default=10_000)
        child.add_argument("--count", type=int, default=10_000)
        options = child.parse_args(sys.argv[2:])
        if sys.argv[1] == "send":
            print(json.dumps(send(options.port, options.rate, options.count)), flush=True)
            sys.exit(0)
        sys.exit(netobs_main(options.port))
    sys.exit(main())
