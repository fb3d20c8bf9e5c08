"""Hair for one sample: scalp hair, brows and facial hair grown as strands on the posed head."""
