"""Wire formats shared by drivers and emulators, so the two sides cannot drift apart."""
