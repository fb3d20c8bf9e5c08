"""One labelled sample: render, labels, files, and the store they are written to."""
