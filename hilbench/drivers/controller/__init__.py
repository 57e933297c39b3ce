"""Drivers for the controller role."""
