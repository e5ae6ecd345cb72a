"""Database migrations on deploy (invoked by a CloudFormation trigger)."""
