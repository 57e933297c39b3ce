"""Drivers for the boards role."""
