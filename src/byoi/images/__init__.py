"""Building container images offline (no registry needed)."""
