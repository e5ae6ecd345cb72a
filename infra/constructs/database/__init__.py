"""constructs/database."""
