"""The embedded testbed: a synthetic world with ground truth, oracles, simulated preferences and tiny models."""
