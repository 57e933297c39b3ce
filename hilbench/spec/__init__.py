"""Bench files and their sections as data (roles, interlocks, faults): what drivers and emulators are built from."""
