"""The whole conformance suite in one namespace: ``from
liapstore.testing.contract import *`` in a test module collects every test.

Each ``test_*.py`` module beside this file is imported and what pytest
collects from it (``test*`` functions, ``Test*`` classes, and fixtures) is
gathered here, so a module added to the suite is picked up without being
listed. Helpers stay in their modules: a test finds them through its own
module's globals. Two modules defining one test or fixture name would make a
test vanish silently; that is an error.
"""
import importlib
import pkgutil
import types

__all__ = []


def _collected(name, value):
    """Whether pytest would collect ``value`` (a test, a test class or a fixture)."""
    if isinstance(value, types.ModuleType):
        return False
    # pytest >= 8.4 marks fixtures with the first attribute, older ones with the second.
    fixture = hasattr(value, "_fixture_function_marker") or hasattr(value, "_pytestfixturefunction")
    return fixture or (name.startswith("test") and callable(value)) or \
        (name.startswith("Test") and isinstance(value, type))


def _gather():
    owners = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("test_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, value in vars(module).items():
            if not _collected(name, value):
                continue
            if name in owners and globals()[name] is not value:
                raise ImportError(f"{info.name} and {owners[name]} both define {name!r}; "
                                  "rename one, or the suite would lose a test")
            owners.setdefault(name, info.name)
            globals()[name] = value
            if name not in __all__:
                __all__.append(name)


_gather()
