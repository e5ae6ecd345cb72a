"""constructs/monitoring."""
