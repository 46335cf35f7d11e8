"""Every Kafka client netobs makes is built here, from one stage's connection settings.

A stage connects as its own principal (SASL, optionally over TLS), so the broker's ACLs can give it the
least it needs; building every producer, consumer, admin client and Faust app from one KafkaAccess keeps
that true: no client is built by hand with a bare bootstrap address.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from common.config import ConfigError, KafkaConfig

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaAccess:
    """Where the broker is and who this client is: an empty sasl_mechanism connects without SASL."""

    bootstrap: str
    sasl_mechanism: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""

    @property
    def tls(self) -> bool:
        return bool(self.tls_ca_file or self.tls_cert_file)

    def options(self) -> dict[str, Any]:
        """Keyword arguments every aiokafka client takes: bootstrap, security protocol, SASL and TLS."""
        protocol = ("SASL_" if self.sasl_mechanism else "") + ("SSL" if self.tls else "PLAINTEXT")
        opts: dict[str, Any] = {"bootstrap_servers": self.bootstrap, "security_protocol": protocol}
        if self.sasl_mechanism:
            opts.update(
                sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.username, sasl_plain_password=self.password
            )
        if self.tls:
            opts["ssl_context"] = self.ssl_context()
        return opts

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the broker against tls_ca_file (the system's CAs when empty); presents the client cert if set."""
        context = ssl.create_default_context(cafile=self.tls_ca_file or None)
        if self.tls_cert_file:
            context.load_cert_chain(self.tls_cert_file, self.tls_key_file or None)
        return context


def access(kafka: KafkaConfig, bootstrap: str = "") -> KafkaAccess:
    """A stage's access from its [kafka] section; bootstrap overrides the configured one (the embedded broker)."""
    password = ""
    if kafka.sasl_password_file:
        try:
            password = Path(kafka.sasl_password_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(
                f"NETOBS_KAFKA_SASL_PASSWORD_FILE: cannot read {kafka.sasl_password_file!r}: {exc}"
            ) from None
    return KafkaAccess(
        bootstrap=bootstrap or kafka.bootstrap,
        sasl_mechanism=kafka.sasl_mechanism,
        username=kafka.sasl_username,
        password=password,
        tls_ca_file=kafka.tls_ca_file,
        tls_cert_file=kafka.tls_cert_file,
        tls_key_file=kafka.tls_key_file,
    )


def producer(kafka: KafkaAccess, **kwargs: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(**kafka.options(), **kwargs)


def consumer(kafka: KafkaAccess, *topics: str, **kwargs: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(*topics, **kafka.options(), **kwargs)


def admin(kafka: KafkaAccess, **kwargs: Any) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**kafka.options(), **kwargs)


def answers(kafka: KafkaAccess, timeout: float = 5.0) -> bool:
    """Whether the broker answers a Metadata request as this principal within timeout. A broker that is down
    refuses the connection; a paused one (SIGSTOP, a stalled JVM) accepts it in the kernel and answers nothing:
    both are False. Runs its own event loop: call it from a thread that has none."""

    async def probe() -> None:
        client = AIOKafkaClient(**kafka.options(), request_timeout_ms=int(timeout * 1000))
        try:
            await asyncio.wait_for(client.bootstrap(), timeout)
        finally:
            await asyncio.wait_for(client.close(), timeout)

    try:
        asyncio.run(probe())
    except Exception:
        return False
    return True


def faust_settings(kafka: KafkaAccess) -> dict[str, Any]:
    """faust.App keyword arguments for the broker: its URL and, with SASL or TLS, broker_credentials."""
    import faust

    settings: dict[str, Any] = {"broker": f"kafka://{kafka.bootstrap}"}
    if kafka.sasl_mechanism:
        settings["broker_credentials"] = faust.SASLCredentials(
            username=kafka.username,
            password=kafka.password,
            mechanism=kafka.sasl_mechanism,
            ssl_context=kafka.ssl_context() if kafka.tls else None,
        )
    elif kafka.tls:
        settings["broker_credentials"] = kafka.ssl_context()
    return settings
