"""The fast back-end: a Scene rasterised with pyrender on headless EGL."""
