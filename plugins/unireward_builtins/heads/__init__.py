"""Built-in reward heads (how a verdict or score is produced from a judge backend)."""
