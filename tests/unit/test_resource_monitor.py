"""The /proc readers of the resource monitor, on fixed samples, and one real sample of this process."""

from processors.monitoring import resource_monitor as rm

MEMINFO = """MemTotal:       1000000 kB
MemFree:         100000 kB
MemAvailable:    250000 kB
SwapTotal:       200000 kB
SwapFree:        150000 kB
"""


def test_readers_on_samples():
    stat = "42 (a (weird) name) S 1 1 1 0 -1 0 0 0 0 0 300 200 0 0 20 0 1 0 100 0 0"
    assert rm.process_cpu_seconds(stat) == 500 / rm.CLOCK_TICKS
    assert rm.memory_percents(MEMINFO) == (75.0, 25.0)
    assert rm.memory_percents("MemTotal: 0 kB\n") == (0.0, 0.0)
    assert rm.load1("0.80 0.56 0.72 3/97 8162\n") == 0.8
    assert rm.rss_bytes("1000 250 10 1 0 100 0") == 250 * rm.PAGE_SIZE


def test_consumer_lag():
    assert rm.consumer_lag({}, {}) == -1
    assert rm.consumer_lag({("t", 0): None}, {}) == -1
    assert rm.consumer_lag({("t", 0): 10, ("t", 1): 5, ("u", 0): 0}, {("t", 0): 9, ("t", 1): 1}) == 3


def test_a_real_sample(tmp_path):
    sampler = rm.Sampler("h", "worker-1", str(tmp_path / "not" / "yet"))
    row = sampler.sample(100, 7)
    assert row["rss_bytes"] > 1_000_000
    assert 0 < row["disk_percent"] <= 100
    assert row["consumer_lag"] == 7 and row["insert_rate"] > 0
    assert 0 <= row["memory_percent"] <= 100 and row["cpu_percent"] >= 0 and row["load1"] >= 0
