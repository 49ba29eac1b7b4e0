"""Domain logic of byoi, free of HTTP: each service takes its dependencies in its constructor."""
