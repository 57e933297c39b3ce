"""The core vocabulary every layer shares: roles, errors, measurements, units, response envelopes."""
