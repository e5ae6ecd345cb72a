"""constructs/network."""
