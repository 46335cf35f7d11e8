"""Event records -> event_log rows; an undecodable record becomes a flagged system event with a stable id."""

from processors.tables import event_rows
from schemas import events
from schemas.events import Event, EventBatch
from schemas.topics import EVENTS


def test_rows_follow_the_events():
    e = Event("id1", 1_732_250_000_000_000_500, "polling", "high", "normal", "n1", "router", "ping down", 0.0, "p1")
    rows = event_rows.record_rows(events.encode(EventBatch(1, [e])), 3, 9, 0)
    assert rows == [
        {
            "id": "id1",
            "time": 1_732_250_000_000_000,
            "type": "polling",
            "level": "high",
            "last_level": "normal",
            "node_id": "n1",
            "node_name": "router",
            "polling_id": "p1",
            "event": "ping down",
            "downtime_s": 0.0,
            "kafka_partition": 3,
            "kafka_offset": 9,
        }
    ]


def test_undecodable_record_is_kept_as_a_system_event():
    rows = event_rows.record_rows(b"junk", 1, 7, 5_000_000)
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == f"undecodable:{EVENTS}:1:7"
    assert (row["type"], row["level"], row["time"], row["kafka_offset"]) == ("system", "warn", 5_000, 7)
    assert "partition 1 offset 7" in row["event"]
    assert event_rows.record_rows(b"junk", 1, 7, 9_999_999)[0]["id"] == row["id"]
