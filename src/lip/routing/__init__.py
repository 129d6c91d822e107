"""Routing: selector grammar, plans, failover and health."""
