"""Built-in judge backends (runtimes that load a checkpoint and generate or score)."""
