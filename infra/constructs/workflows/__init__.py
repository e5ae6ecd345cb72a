"""constructs/workflows."""
