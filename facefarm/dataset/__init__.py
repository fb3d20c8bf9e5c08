"""Whole-dataset work: the dataset as readers see it, exports, splits, datasheet and audit."""
