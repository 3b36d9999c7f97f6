"""UniReward's first-party plugins: one component per module, registered like third-party plugins."""
