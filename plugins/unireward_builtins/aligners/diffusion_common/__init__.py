"""What the two Diffusion-DPO aligners share: loading and saving diffusers parts (:mod:`.components`), the
loss as pure functions (:mod:`.loss`), pixel conversions (:mod:`.pixels`) and the training loop,
evaluation, sampler and checkpoints (:mod:`.trainer`). Nothing here registers an aligner."""
