"""Selection algorithms: how a load balancer orders backends for a key (private package)."""
