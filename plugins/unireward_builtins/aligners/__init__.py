"""Built-in aligners: Diffusion-DPO for text-to-image and text-to-video diffusers models (and, through
its own module, DPO for vision-language policies)."""
