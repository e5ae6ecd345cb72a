"""Tests of the Lambda handlers (mirrors lambdas/)."""
