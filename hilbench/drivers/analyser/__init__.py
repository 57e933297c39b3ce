"""Drivers for the analyser role."""
