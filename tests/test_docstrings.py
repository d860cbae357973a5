"""The examples in the docstrings run and print what they show."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import derivations
import numerics
import reports

MODULES = sorted(info.name
                 for package in (derivations, numerics, reports)
                 for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
                 if not info.name.endswith("__main__"))   # running __main__ would start the command


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
