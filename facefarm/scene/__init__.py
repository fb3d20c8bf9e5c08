"""The renderer-agnostic Scene (plain data), segmentation classes, HDRI environments, environment lighting and white balance."""
