"""The one way a back-end client makes its TLS context: always verified, optionally with a client certificate."""

from __future__ import annotations

import ssl

from gateway.errors import ConfigurationError


def tls_context(
    backend: str, *, ca_bundle: str | None, client_cert: str | None = None, client_key: str | None = None
) -> ssl.SSLContext:
    """Certificates verified against ``ca_bundle`` (else the system's CA store), host names checked, and the
    client certificate (with ``client_key``, or a key in the same file) presented when configured.

    There is deliberately no way to turn verification off: a register's endpoint without a
    certificate chain we can check is a configuration to fix, not to bypass.
    """
    if client_key and not client_cert:
        raise ConfigurationError(f"{backend}.client_key is set without {backend}.client_cert")
    try:
        context = ssl.create_default_context(cafile=ca_bundle)
        if client_cert:
            context.load_cert_chain(client_cert, keyfile=client_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"the {backend} TLS files cannot be used: {type(exc).__name__}") from None
    return context
