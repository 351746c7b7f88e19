"""The local error tracker.

Capture (before_send, lean capture), grouping (fingerprint), scrubbing (scrub), event shaping (events),
intake (buffer, writer thread), writes (SQL), lifecycle (status changes), retention, signals.
"""
