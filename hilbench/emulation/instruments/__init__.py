"""Emulators of real instrument models, each a real server speaking that model's protocol, backed by the plant."""
