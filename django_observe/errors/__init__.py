"""The local error tracker: grouping (fingerprint), scrubbing (scrub), event shaping (events), storage (store), lifecycle and signals."""
