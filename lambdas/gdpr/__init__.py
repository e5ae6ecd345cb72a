"""GDPR jobs fed by SQS: data exports and erasures (thin handlers over datalayer.gdpr)."""
