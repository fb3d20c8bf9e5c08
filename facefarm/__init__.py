"""facefarm: labelled synthetic human faces from a catalog of attributes.

The code lives in three layers, imported one way only:
``facefarm.render_farm`` -> ``facefarm.pipeline`` -> ``facefarm.catalog``.
"""

__version__ = "0.3.2"
