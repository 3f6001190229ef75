"""Development helpers: the real-server stack (dev.stack)."""
