"""Models of the error tracker and the health history (one module each)."""
