"""The synthetic testbed: a world with ground truth, oracles, simulated preferences and tiny models, and the
``unireward demo`` / ``unireward testbed`` commands (:mod:`.commands`, registered by :mod:`.plugin`)."""
