"""The emulated plant and the protocol servers in front of it; depends on nothing above it."""
