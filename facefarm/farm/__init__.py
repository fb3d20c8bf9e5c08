"""Orchestration: what a render job is, its life in the output folder, and the Ray workers."""
