"""TLS probe: the server certificate (subject, issuer, validity) and whether this host would trust it.

A handshake that completes is ok even when the certificate is not trusted: verified and days_left are
values, so thresholds (verified == 0, days_left < 30) decide what that means. When verification fails the
probe reconnects without it to read the certificate anyway, and reports why it was refused.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import ssl
import time
from collections.abc import Mapping

from cryptography import x509

from ingest.pollers.probe import Measurement, fail, ms_since, ok, os_error, port_param


async def probe(ip: str, params: Mapping[str, str], timeout: float) -> Measurement:
    """Handshake with ip:port (param port, default 443) naming server_name (default: the IP).

    values: days_left, handshake_ms, verified (1/0). texts: subject, issuer, serial, not_before, not_after
    (ISO 8601 UTC), san, verified (true/false), verify_error, tls_version, cipher.
    """
    port = port_param(params, 443)
    name = params.get("server_name", "").strip() or ip
    deadline = time.monotonic() + timeout
    started = time.perf_counter()
    verify_error = ""
    try:
        try:
            der, version, cipher = await _handshake(ip, port, name, _verifying(), timeout)
        except ssl.SSLCertVerificationError as exc:
            verify_error = exc.verify_message or str(exc)
            started = time.perf_counter()
            remaining = max(0.1, deadline - time.monotonic())
            der, version, cipher = await _handshake(ip, port, name, _trusting(), remaining)
    except TimeoutError:
        return fail(f"no TLS handshake with {ip}:{port} within {timeout:g}s")
    except ssl.SSLError as exc:
        return fail(f"{ip}:{port}: TLS handshake failed: {exc.reason or exc}")
    except OSError as exc:
        return fail(f"{ip}:{port}: {os_error(exc)}")
    handshake_ms = ms_since(started, time.perf_counter())
    if der is None:
        return fail(f"{ip}:{port}: the server sent no certificate")
    values, texts = describe(x509.load_der_x509_certificate(der), datetime.datetime.now(datetime.UTC))
    values.update(handshake_ms=handshake_ms, verified=0.0 if verify_error else 1.0)
    texts.update(
        verified="false" if verify_error else "true",
        verify_error=verify_error,
        tls_version=version,
        cipher=cipher,
    )
    return ok(values, texts)


def describe(cert: x509.Certificate, now: datetime.datetime) -> tuple[dict[str, float], dict[str, str]]:
    """The values and texts of a certificate as seen at `now` (pure: tested with made-up certificates)."""
    not_after = cert.not_valid_after_utc
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [*san.get_values_for_type(x509.DNSName), *map(str, san.get_values_for_type(x509.IPAddress))]
    except x509.ExtensionNotFound:
        names = []
    texts = {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
        "san": ",".join(names),
    }
    return {"days_left": round((not_after - now).total_seconds() / 86400, 3)}, texts


async def _handshake(
    ip: str, port: int, name: str, context: ssl.SSLContext, timeout: float
) -> tuple[bytes | None, str, str]:
    """(certificate DER, TLS version, cipher) of one handshake; the connection is dropped right after."""
    async with asyncio.timeout(timeout):
        _, writer = await asyncio.open_connection(ip, port, ssl=context, server_hostname=name)
    try:
        tls: ssl.SSLObject = writer.get_extra_info("ssl_object")
        cipher = tls.cipher()
        return tls.getpeercert(binary_form=True), tls.version() or "", cipher[0] if cipher else ""
    finally:
        writer.transport.abort()


@functools.cache
def _verifying() -> ssl.SSLContext:
    """The system's trust store with hostname checks: would a client on this host trust the server?

    Made once: loading the trust store costs milliseconds, and a context is safe to share.
    """
    return ssl.create_default_context()


@functools.cache
def _trusting() -> ssl.SSLContext:
    """No verification at all: only to read a certificate that _verifying() refused."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
