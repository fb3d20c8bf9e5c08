"""facefarm: labelled synthetic human faces from a catalog of attributes.

The code lives in layer packages that import downwards only (see ARCHITECTURE.md):
``cli`` -> ``farm`` -> ``dataset`` -> ``sample`` -> ``compose`` / ``render`` -> ``head`` -> ``scene``
-> ``geometry`` -> ``catalog``. Importing the package has no side effects and imports none of them:
the Python API below is loaded on first use.

    import facefarm
    ds = facefarm.render("default", 8, "out")       # or facefarm.load("out") for a finished dataset
    s = facefarm.crop(ds.split("train")[0], 128)    # image, segmentation, depth, landmarks aligned
    s = facefarm.augment(s, seed, facefarm.Augment.digiface())  # label-correct augmentation
"""

import functools as _functools
import sys as _sys
import types as _types
from importlib import import_module as _import_module

#: The one version string: the package metadata (pyproject's dynamic version) reads it from here.
__version__ = "0.7.0"

#: The Python API, name -> module defining it; each is imported when first asked for (PEP 562).
_API = {
    "load": "facefarm.dataset.loader",
    "Dataset": "facefarm.dataset.loader",
    "Sample": "facefarm.dataset.loader",
    "VerificationError": "facefarm.dataset.loader",
    "crop": "facefarm.dataset.crop",
    "layout_points": "facefarm.dataset.crop",
    "augment": "facefarm.dataset.augment",
    "Augment": "facefarm.dataset.augment",
    "render": "facefarm.cli.api",
    "resolve": "facefarm.cli.api",
    "RenderError": "facefarm.cli.api",
}

__all__ = ["__version__", *_API]


class _Package(_types.ModuleType):
    """The facefarm package, whose API names win over subpackages of the same name.

    The import system sets a subpackage on its parent when it first imports it: without this, the
    first ``from facefarm.render.backends import ...`` would replace the function ``facefarm.render``
    by the back-end package ``facefarm/render/``.
    """

    def __setattr__(self, name: str, value) -> None:
        if name in _API and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


class _Render:
    """``facefarm.render``: the function (:func:`facefarm.cli.api.render`) that also answers for the back-end
    package of the same name, so ``import facefarm.render.backends as b`` still finds ``facefarm/render/``."""

    def __init__(self, function):
        _functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(_import_module("facefarm.render"), name)

    def __repr__(self) -> str:
        import inspect

        return f"<function facefarm.render{inspect.signature(self.__wrapped__)}>"


_sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'facefarm' has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    if name == "render":
        value = _Render(value)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__")})
