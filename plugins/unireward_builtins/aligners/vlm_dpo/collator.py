"""The batch collator of ``vlm_dpo``: trl's vision preference batches, extended to videos.

trl's own vision collator sends ``images`` through the processor and drops everything else. This one
renders the same prompt/completion split (``trl.data_utils.apply_chat_template``) and hands the
processor the batch's images AND its videos (each a list of evenly spaced frames), so the model
receives ``pixel_values_videos`` / ``video_grid_thw`` (Qwen2-VL) or the processor's equivalent, with the
video placeholder tokens expanded in ``input_ids``. Image, video and text-only rows mix in one batch.

Output, as trl's ``DPOTrainer`` expects: the first half of the batch is prompt + chosen, the second
half prompt + rejected; ``completion_mask`` marks the answer tokens. The prompt and its media are
encoded once and repeated for the two halves.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import torch

from unireward_sdk.alignment import decode_image
from unireward_sdk.errors import ConfigError

# processor outputs aligned with the tokens (one value per position), extended over the answer with zeros
_TOKEN_ALIGNED = ("token_type_ids", "mm_token_type_ids")


class VisionVideoPreferenceCollator:
    """Collates uniform ``vlm_dpo`` rows (see :mod:`.data`) into a DPO batch for trl's ``DPOTrainer``."""

    def __init__(self, processor: Any, frames: Callable[[str], list], *, max_length: int | None = None,
                 max_completion_length: int | None = None, completion_ends_at_eos: bool = True,
                 who: str = "vlm_dpo"):
        self.processor = processor
        self.completion_ends_at_eos = completion_ends_at_eos
        self.frames = frames
        self.max_length = max_length
        self.max_completion_length = max_completion_length
        self.who = who

    def _completion(self, text: str) -> str:
        """The answer as trained. Chat templates write a newline after the end-of-turn token (Qwen's
        ``<|im_end|>\n``); generation stops at that token, so the newline is never sampled, and a policy
        fine-tuned without it pays for it in every answer's likelihood (about 17 nats on the testbed's
        policy). Cut it unless ``completion_ends_at_eos`` is off (trl's own rendering)."""
        return text.rstrip() if self.completion_ends_at_eos else text

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        from trl.data_utils import apply_chat_template
        from trl.trainer.utils import flush_left, pad

        prompts, chosens, rejecteds, images, videos = [], [], [], [], []
        for row in rows:
            texts = apply_chat_template({"prompt": json.loads(row["prompt"]), "chosen": json.loads(row["chosen"]),
                                         "rejected": json.loads(row["rejected"])}, self.processor)
            prompts.append(texts["prompt"])
            chosens.append(self._completion(texts["chosen"]))
            rejecteds.append(self._completion(texts["rejected"]))
            images.extend(decode_image(data) for data in row["images"])
            videos.extend(self.frames(path) for path in row["videos"])

        kwargs: dict[str, Any] = {"text": prompts, "padding": True, "padding_side": "left",
                                  "add_special_tokens": False, "return_tensors": "pt"}
        if images:
            kwargs["images"] = images
        if videos:
            kwargs["videos"] = videos
            kwargs["do_sample_frames"] = False  # the frames are already the sampled ones
        encoded = self.processor(**kwargs)
        prompt_ids, prompt_mask = encoded.pop("input_ids"), encoded.pop("attention_mask")
        if self.max_length is not None:
            lengths = prompt_mask.sum(dim=1)
            if int(lengths.max()) >= self.max_length:
                row = rows[int(lengths.argmax())]
                raise ConfigError(
                    f"row {row.get('index', '?')}: the prompt alone is {int(lengths.max())} tokens (media included), "
                    f"max_length is {self.max_length}", who=self.who,
                    fix="Raise max_length, or lower num_frames / video_max_pixels / the processor's max_pixels",
                )

        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        answers = tokenizer(chosens + rejecteds, add_special_tokens=False)["input_ids"]
        if self.max_completion_length is not None:
            answers = [ids[: self.max_completion_length] for ids in answers]
        completion_ids = pad([torch.tensor(ids, dtype=torch.long) for ids in answers], padding_value=pad_id)
        completion_mask = pad([torch.ones(len(ids), dtype=torch.long) for ids in answers], padding_value=0)

        # chosen and rejected halves share the prompt and its media: repeat, never re-encode
        input_ids = torch.cat((torch.cat((prompt_ids, prompt_ids)), completion_ids), dim=1)
        attention_mask = torch.cat((torch.cat((prompt_mask, prompt_mask)), completion_mask), dim=1)
        completion_mask = torch.cat((torch.zeros_like(attention_mask[:, : prompt_ids.shape[1]]), completion_mask),
                                    dim=1)
        aligned = {}
        for key in _TOKEN_ALIGNED:
            if key in encoded:
                values = encoded.pop(key)
                aligned[key] = torch.cat((torch.cat((values, values)), torch.zeros_like(completion_ids)), dim=1)
        attention_mask, input_ids, completion_mask, *rest = flush_left(attention_mask, input_ids, completion_mask,
                                                                        *aligned.values())
        aligned = dict(zip(aligned, rest))
        if self.max_length is not None:
            input_ids, attention_mask = input_ids[:, : self.max_length], attention_mask[:, : self.max_length]
            completion_mask = completion_mask[:, : self.max_length]
            aligned = {k: v[:, : self.max_length] for k, v in aligned.items()}

        # media tensors (pixel values, grids, sizes) are ordered by row: the repeat is a concatenation
        batch = {key: torch.cat((value, value)) if isinstance(value, torch.Tensor) else value
                 for key, value in encoded.items()}
        batch.update(input_ids=input_ids, attention_mask=attention_mask, completion_mask=completion_mask, **aligned)
        return batch
