"""The feed: local assets and the active flows interleaved by priority, one page at a time."""
