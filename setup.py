"""Builds the optional native SHA-256d scanner; everything else is in pyproject.toml.

The extension is optional: where no C compiler exists the install still succeeds and
hilbench falls back to a slower pure-Python scanner (hilbench.hashing.sha256d says which
one is in use through ``BACKEND``).
"""

import sys

from setuptools import Extension, setup

flags = [] if sys.platform == "win32" else ["-O3", "-funroll-loops"]

setup(
    ext_modules=[
        Extension(
            "hilbench.hashing._sha256d",
            sources=["hilbench/hashing/_sha256d.c"],
            extra_compile_args=flags,
            optional=True,
        )
    ]
)
