"""Built-in modalities: text, image, video."""
