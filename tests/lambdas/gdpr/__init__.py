"""Tests of the GDPR job handlers."""
