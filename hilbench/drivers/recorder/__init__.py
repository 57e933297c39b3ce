"""Drivers for the recorder role (raw, uniformly sampled waveforms)."""
