"""Project-level pytest configuration.

The hilbench plugin itself is loaded through its ``pytest11`` entry point, so this file
stays empty of fixtures: projects that install hilbench get the same behaviour without it.
"""
