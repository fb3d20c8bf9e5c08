"""Orchestration: the command line, job planning, Ray workers, resumable output."""
