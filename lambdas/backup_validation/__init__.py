"""Validation of AWS Backup restore tests (the monthly restore drill)."""
