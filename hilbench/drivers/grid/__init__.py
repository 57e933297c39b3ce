"""Drivers for the grid role."""
