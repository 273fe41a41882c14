"""Exceptions of the asyncio Kafka client.

A broker's per-request error codes are not exceptions at this level: they come back inside the decoded
response (``resp.error_code``) for the caller to act on.  These exceptions are about the connection itself.
"""

from __future__ import annotations


class KafkaConnectionError(ConnectionError):
    """The connection is closed, was lost, or could not be established; in-flight requests fail with it."""


class CorrelationIdMismatchError(KafkaConnectionError):
    """A response did not answer the oldest outstanding request — the stream is out of sync; it is closed."""


class KafkaRequestTimeoutError(TimeoutError):
    """No response arrived within the request timeout.  The connection stays usable; a late response to the
    timed-out request is read and discarded."""


class IncompatibleBrokerVersion(Exception):
    """The broker does not advertise the API, or no version lies in both its range and ours."""
