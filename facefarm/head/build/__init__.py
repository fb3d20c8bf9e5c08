"""``facefarm assets build``: read the pinned CC0 MakeHuman HM08 data and compile the compact head asset."""
