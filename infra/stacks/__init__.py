"""Stacks that only compose constructs. Stateful (keys, data) and stateless (network,
services, operations, monitoring) resources live in different stacks."""
