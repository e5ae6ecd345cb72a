"""Offline proof of the infrastructure: synth assertions, snapshots, scanners, handlers."""
