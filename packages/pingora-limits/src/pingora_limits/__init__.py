"""pingora-limits."""

__all__: list[str] = []
