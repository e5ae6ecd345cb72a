"""One construct per concern: keys, network, security groups, database, cache, backups,
PgBouncer, jobs, alerting and monitoring."""
