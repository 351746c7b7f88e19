"""Health checks with hard deadlines, probes and history."""
