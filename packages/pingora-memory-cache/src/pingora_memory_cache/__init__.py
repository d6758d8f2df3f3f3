"""pingora-memory-cache."""

__all__: list[str] = []
