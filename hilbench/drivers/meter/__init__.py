"""Drivers for the meter role."""
