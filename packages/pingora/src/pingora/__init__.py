"""pingora."""
