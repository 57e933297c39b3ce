"""Drivers for the load role."""
