"""The runtime head model (identity, expression, render surface, landmarks); :mod:`facefarm.head.build` compiles its asset."""
