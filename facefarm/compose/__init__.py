"""The compositor and its fitters: a resolved sample plus the head model -> a renderer-agnostic Scene."""
