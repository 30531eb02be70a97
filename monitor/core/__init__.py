"""The domain vocabulary every layer shares; imports nothing else of ours but the catalogue."""
