"""The broker's HTTP admin: ``/health``, ``/metrics`` (Prometheus, JMX-exporter names), ``/api/*`` and the
live dashboard at ``/``. Started by the broker when ``http.port`` is set; see docs/observability.md."""
