"""Clothing on the shoulders and headwear on the head, fitted as draped shells of the skin."""
