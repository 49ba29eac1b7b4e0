"""``byoi check``: will this image and AppImageConfig work in Studio, and if not, why."""
