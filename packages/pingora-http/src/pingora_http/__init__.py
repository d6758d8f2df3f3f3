"""pingora-http."""

__all__: list[str] = []
