"""Creates the topics netobs uses, idempotently; run at start by each stage that needs them."""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import NewTopic

from common import kafka_client
from common.kafka_client import KafkaAccess
from schemas.topics import TOPICS

log = logging.getLogger(__name__)

TOPIC_AUTHORIZATION_FAILED = 29


async def ensure_topics(kafka: KafkaAccess, partitions: int, replication_factor: int, timeout: float = 30.0) -> None:
    """Create every topic that is missing (and that this principal may create), retrying while the broker comes up."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = kafka_client.admin(kafka, request_timeout_ms=5000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in TOPICS if t.name not in existing]
            if missing:
                response = await admin.create_topics(
                    [
                        NewTopic(
                            t.name,
                            num_partitions=t.partitions or partitions,
                            replication_factor=replication_factor,
                            topic_configs=t.configs,
                        )
                        for t in missing
                    ]
                )
                refused = [name for name, code, *_ in response.topic_errors if code == TOPIC_AUTHORIZATION_FAILED]
                if refused:
                    # A stage's principal sees and creates only its own topics; netobs's admin creates them all.
                    log.debug("not allowed to create %s: left to the cluster's administrator", ", ".join(refused))
                created = [t for t in missing if t.name not in refused]
                if created:
                    log.info("created topics %s", ", ".join(f"{t.name}/{t.partitions or partitions}" for t in created))
            return
        except Exception as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"cannot create topics on {kafka.bootstrap}: {exc}") from exc
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
