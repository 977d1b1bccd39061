"""The analyses the pages show, each from the store and the selection: tiers, drop-offs, engagement and more."""
