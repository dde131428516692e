"""The whole conformance suite in one namespace: ``from
liapstore.testing.contract import *`` in a test module collects every test.

Each ``test_*.py`` module beside this file is imported and its public names
(tests, and any fixture or constant they use) are gathered here, so a module
added to the suite is picked up without being listed. Two modules defining
one name differently would make a test vanish silently; that is an error.
"""
import importlib
import pkgutil
import types

__all__ = []


def _gather():
    owners = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, value in vars(module).items():
            if name.startswith("_") or isinstance(value, types.ModuleType):
                continue
            if name in owners and globals()[name] is not value:
                raise ImportError(f"{info.name} and {owners[name]} both define {name!r}; "
                                  "rename one, or the suite would lose a test")
            owners.setdefault(name, info.name)
            globals()[name] = value
            if name not in __all__:
                __all__.append(name)


_gather()
