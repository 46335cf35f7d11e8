"""Topic names and how records are spread over partitions."""

import zlib

SYSLOG_RAW = "netobs.syslog.raw"
"""Raw syslog as received: many lines per record (schemas.raw_syslog), partitioned by source address."""

ALL_TOPICS = (SYSLOG_RAW,)


def partition_for(source: str, partitions: int) -> int:
    """The partition of a source address, stable across processes, so one sender's lines stay in order.

    Drain3 state lives with a partition, so a host's lines always meet the same miner.
    """
    return zlib.crc32(source.encode()) % partitions
