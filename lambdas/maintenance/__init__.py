"""Scheduled database maintenance."""
