"""The desk's JSON API under ``/api/v1`` (bearer tokens from ``intake staff token``), documented at /api/docs."""
