"""AWS Lambda handlers: thin adapters that parse an event and call one datalayer function."""
