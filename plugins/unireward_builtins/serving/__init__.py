"""`unireward serve`: reward heads behind HTTP for trainers in other processes."""
