"""facefarm: labelled synthetic human faces from a catalog of attributes.

The code lives in layer packages that import downwards only (see ARCHITECTURE.md):
``cli`` -> ``farm`` -> ``dataset`` -> ``sample`` -> ``compose`` / ``render`` -> ``head`` -> ``scene``
-> ``geometry`` -> ``catalog``. Importing the package has no side effects.
"""

#: The one version string: the package metadata (pyproject's dynamic version) reads it from here.
__version__ = "0.3.2"
