"""Admin pages: errors and health (one module each)."""
