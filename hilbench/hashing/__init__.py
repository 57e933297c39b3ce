"""SHA-256d (Bitcoin's double SHA-256): a leaf both the emulated boards and the hash-board driver use."""
