"""Creates the topics netobs uses, idempotently; run at start by each stage that needs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas.topics import TOPICS

log = logging.getLogger(__name__)


async def ensure_topics(bootstrap: str, partitions: int, replication_factor: int, timeout: float = 30.0) -> None:
    """Create every topic that is missing, retrying while the broker comes up."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in TOPICS if t.name not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
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
                log.info("created topics %s", ", ".join(f"{t.name}/{t.partitions or partitions}" for t in missing))
            return
        except Exception as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"cannot create topics on {bootstrap}: {exc}") from exc
            await asyncio.sleep(0.5)
        finally:
            await admin.close()
