"""constructs/jobs."""
