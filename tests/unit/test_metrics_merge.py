"""The single node's merge: families of several processes become one exposition that prometheus_client's own
parser reads back, each series labelled with its process, each family named once."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from common.metrics import Source, counter, gauge, with_process
from ingest.counters import Counters
from ingest.metrics import syslog_families
from netobs.metrics_endpoint import registry_of


def test_same_family_in_two_processes_is_named_once_with_process_labels():
    def families(n: int):
        return [
            counter("netobs_x_total", "x.", ["reason"], [(["a"], n), (["b"], 2 * n)]),
            gauge("netobs_open", "open.", [], [([], n)]),
        ]

    merged = with_process({"ingest": families(1), "traps": families(5)})
    text = generate_latest(registry_of(Source(lambda: merged))).decode()
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    assert text.count("# TYPE netobs_x_total counter") == 1
    assert sorted(parsed) == ["netobs_open", "netobs_x"]
    values = {(s.labels["process"], s.labels.get("reason")): s.value for s in parsed["netobs_x"].samples}
    assert values == {("ingest", "a"): 1, ("ingest", "b"): 2, ("traps", "a"): 5, ("traps", "b"): 10}


def test_a_parsed_exposition_merges_again_unchanged():
    """What the node reads from a child's socket (parsed text) merges like its own families."""
    counters = Counters()
    counters["udp"].received, counters["udp"].delivered, counters["udp"].kernel_dropped = 10, 9, 1
    child = generate_latest(registry_of(Source(lambda: syslog_families(counters, ["udp"])))).decode()
    merged = with_process({"ingest": text_string_to_metric_families(child)})
    again = generate_latest(registry_of(Source(lambda: merged))).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(again)
        for s in f.samples
    }
    udp = (("process", "ingest"), ("transport", "udp"))
    assert samples[("netobs_syslog_received_total", udp)] == 10
    assert samples[("netobs_syslog_accepted_total", udp)] == 9
    assert (
        samples[("netobs_syslog_dropped_total", (("process", "ingest"), ("reason", "kernel"), ("transport", "udp")))]
        == 1
    )
    assert not any(name == "netobs_syslog_connections" for name, _ in samples), "udp has no connections"
