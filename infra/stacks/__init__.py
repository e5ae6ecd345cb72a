"""Stacks that only compose constructs. Stateful (keys, data) and stateless (network,
services, monitoring) resources live in different stacks."""
