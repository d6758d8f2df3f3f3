"""pingora-timeout."""

__all__: list[str] = []
