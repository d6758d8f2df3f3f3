"""pingora-ketama."""

__all__: list[str] = []
