"""constructs/pgbouncer."""
