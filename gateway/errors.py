"""The gateway's errors, drawn as a tree.

    GatewayError
     ├── DeliveryError                  a delivery to a back-end did not succeed
     │    ├── TransientDeliveryError    worth retrying later
     │    │    ├── BackendTimeout       no answer in time, or the connection dropped
     │    │    ├── BackendUnavailable   5xx, refused connection, SOAP Server fault
     │    │    └── BackendThrottled     429 or an explicit "come back later"
     │    └── PermanentDeliveryError    retrying cannot help; an operator must look
     │         ├── BackendRejected      4xx, SOAP Client fault: the back-end refused the content
     │         └── RenderError          we could not build a valid message from the payload
     └── ConfigurationError             settings or mappings are unusable

Whether a delivery is retried is decided by the class of the error and nowhere else:
each adapter translates its library's failures into these at one boundary.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""


class DeliveryError(GatewayError):
    """A delivery attempt failed. Carries what the back-end said, for the attempt history."""

    def __init__(self, message: str, *, backend_status: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.backend_status = backend_status


class TransientDeliveryError(DeliveryError):
    """A failure that may pass; ``retry_after`` (seconds) is the back-end's own hint, if it gave one."""

    def __init__(self, message: str, *, backend_status: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, backend_status=backend_status)
        self.retry_after = retry_after


class BackendTimeout(TransientDeliveryError):
    """The back-end did not answer in time, or the connection dropped before the answer."""


class BackendUnavailable(TransientDeliveryError):
    """The back-end answered that it cannot serve now (5xx, SOAP Server fault) or refused the connection."""


class BackendThrottled(TransientDeliveryError):
    """The back-end asked us to slow down (429 or equivalent)."""


class PermanentDeliveryError(DeliveryError):
    """Retrying the same message cannot succeed."""


class BackendRejected(PermanentDeliveryError):
    """The back-end refused the content (validation, business rule)."""


class RenderError(PermanentDeliveryError):
    """The payload could not be rendered into a valid message for the back-end."""


class ConfigurationError(GatewayError):
    """Settings or mappings are missing or contradict each other."""
