"""The `transformers` backend: a local causal LM (path or hub id, optionally with a PEFT adapter) generating notes
in left-padded batches, prompted as `builder.prompts.render_prompt` renders (chat template or Alpaca).

Reproducibility: each row of a batch samples with its own `torch.Generator` seeded by its request's seed (Gumbel-max
sampling over the temperature/top-p-warped logits, see `PerRowSampler`). So a note is a function of its prompt,
its seed and its sampling parameters, not of the other requests in its batch or of the global torch RNG — up to the
floating-point effect of padding: with left padding, a row's logits can differ in the last bits between batch
compositions, which very occasionally flips a near-tie token. What holds exactly: the same inputs with the same
batch size on the same device give the same texts; with `batch_size=1` every note depends on its request alone.
(CUDA kernels may add their own non-determinism; CPU runs are bitwise repeatable.)
"""

from __future__ import annotations

import copy
import gc
import os
import threading
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from medsyn.builder.generate.backends.base import Request, Result, SamplingParams
from medsyn.builder.generate.prompts import render_prompt
from medsyn.errors import MedsynError

def _resolve(name: str, what: str, flag: str) -> str:
    """A local path that exists, or a hub id; a path-looking name that does not exist is an error before loading."""
    path = Path(name).expanduser()
    if path.exists():
        return str(path)
    looks_local = name.startswith((".", "/", "~")) or "\\" in name or name.count("/") != 1
    if looks_local:
        raise MedsynError(f"{what} path {name} does not exist; pass an existing folder or a hub id to {flag}")
    return name


class PerRowSampler:
    """A logits processor that samples every row of a batch with its own seeded generator (Gumbel-max trick).

    `generate` runs greedy (`do_sample=False`) and this processor, last in the list, adds Gumbel noise drawn from
    the row's generator to its temperature- and top-p-warped log-probabilities, so the greedy pick is an exact
    sample from the warped distribution. Temperature 0 rows stay greedy.
    """

    def __init__(self, seeds: list[int], temperatures: list[float], top_ps: list[float]) -> None:
        self.seeds, self.temperatures, self.top_ps = seeds, temperatures, top_ps
        self._generators: list[Any] | None = None

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch
        from transformers import TopPLogitsWarper

        scores = scores.float()
        if self._generators is None:
            self._generators = [torch.Generator(device=scores.device).manual_seed(s) for s in self.seeds]
        rows = []
        for i, generator in enumerate(self._generators):
            row = scores[i : i + 1]
            noise = torch.rand(row.shape, generator=generator, device=row.device)  # drawn every step: keeps in step
            temperature = self.temperatures[i]
            if temperature > 0:
                row = row / temperature
                if self.top_ps[i] < 1.0:
                    row = TopPLogitsWarper(self.top_ps[i])(input_ids[i : i + 1], row)
                row = row - torch.log(-torch.log(noise.clamp(1e-20, 1.0 - 1e-7)))
            rows.append(row)
        return torch.cat(rows)


class TransformersBackend:
    """A local causal LM (see the module docstring for what is reproducible).

    `model` is a local folder or hub id (HF_HUB_OFFLINE is honoured by transformers); `adapter` a PEFT adapter
    folder or id. On CUDA the model loads in bfloat16 (float16 where bf16 is unsupported) with
    `device_map="auto"`; on CPU in float32. `dtype` ("bfloat16", "float16", "float32", "auto") overrides that.
    The corpus' `generation_model` is `model`, or `model+adapter` with an adapter.
    """

    name = "transformers"

    def __init__(
        self,
        model: str,
        adapter: str | None = None,
        batch_size: int = 8,
        device: str | None = None,
        dtype: str | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise MedsynError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        if dtype not in (None, "auto", "bfloat16", "float16", "float32"):
            raise MedsynError(f"dtype must be one of bfloat16, float16, float32, auto; got {dtype!r}")
        model_ref = _resolve(model, "model", "--model")
        adapter_ref = _resolve(adapter, "adapter", "--adapter") if adapter else None
        self.model = model if adapter is None else f"{model}+{adapter}"
        self.batch_size = batch_size
        self._stream_lock = threading.Lock()
        self._load(model_ref, adapter_ref, device, dtype)

    def _load(self, model_ref: str, adapter_ref: str | None, device: str | None, dtype: str | None) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        on_cuda = device.startswith("cuda")
        if dtype is None:
            if on_cuda:
                torch_dtype: Any = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            else:
                torch_dtype = torch.float32
        else:
            torch_dtype = dtype if dtype == "auto" else getattr(torch, dtype)
        device_map: Any = "auto" if device == "cuda" else {"": device}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model_ref, padding_side="left")
            network = AutoModelForCausalLM.from_pretrained(model_ref, dtype=torch_dtype, device_map=device_map)
        except OSError as exc:
            offline = " (HF_HUB_OFFLINE is set: only cached models load)" if os.environ.get("HF_HUB_OFFLINE") else ""
            raise MedsynError(f"cannot load model {model_ref!r}{offline}: {exc}") from None
        if adapter_ref is not None:
            from peft import PeftModel

            try:
                network = PeftModel.from_pretrained(network, adapter_ref)
            except (OSError, ValueError) as exc:
                raise MedsynError(f"cannot load adapter {adapter_ref!r} onto {model_ref!r}: {exc}") from None
        self.network = network.eval()
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.tokenizer.padding_side = "left"
        self.uses_chat_template = bool(getattr(self.tokenizer, "chat_template", None))
        eos = self.network.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        self._eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}

    def prompt(self, messages: list[dict[str, str]]) -> str:
        """The text the model continues: its chat template when the tokenizer has one, else `alpaca_prompt`."""
        return render_prompt(messages, self.tokenizer, self.model)

    def generate(self, requests: Iterable[Request]) -> Iterator[Result]:
        """Yield Results batch by batch, in request order within a batch."""
        source = iter(requests)
        while batch := list(islice(source, self.batch_size)):
            yield from self._generate_batch(batch)

    def _generate_batch(self, batch: list[Request]) -> list[Result]:
        import torch
        from transformers import LogitsProcessorList

        texts = [self.prompt(r.messages) for r in batch]
        inputs = self.tokenizer(
            texts, return_tensors="pt", padding=True, add_special_tokens=not self.uses_chat_template
        ).to(self.network.device)
        limits = [r.params.max_new_tokens for r in batch]
        config = copy.deepcopy(self.network.generation_config)
        config.do_sample = False  # sampling happens in PerRowSampler
        config.temperature = config.top_p = config.top_k = None
        config.max_new_tokens = max(limits)
        config.pad_token_id = self.tokenizer.pad_token_id
        sampler = PerRowSampler(
            [r.seed for r in batch], [r.params.temperature for r in batch], [r.params.top_p for r in batch]
        )
        with torch.inference_mode():
            output = self.network.generate(
                **inputs, generation_config=config, logits_processor=LogitsProcessorList([sampler])
            )
        prompt_width = inputs["input_ids"].shape[1]
        results = []
        for i, request in enumerate(batch):
            generated = output[i, prompt_width:].tolist()[: limits[i]]
            ended = next((k for k, token in enumerate(generated) if token in self._eos_ids), None)
            completion = generated if ended is None else generated[: ended + 1]
            text = self.tokenizer.decode(completion, skip_special_tokens=True).strip()
            counts = {
                "prompt_tokens": int(inputs["attention_mask"][i].sum()),
                "completion_tokens": len(completion),
            }
            if text:
                results.append(Result(key=request.key, text=text, **counts))
            else:
                results.append(Result(key=request.key, text=None, error="empty completion", **counts))
        return results

    def stream_note(self, messages: list[dict[str, str]], prior: dict, template: str | None, seed: int,
                    params: SamplingParams) -> Iterator[str]:
        """The note's text as it grows (`TextIteratorStreamer` fed by `generate` in a thread); for the Space."""
        import torch
        from transformers import TextIteratorStreamer

        tokenizer, network = self.tokenizer, self.network
        inputs = tokenizer(self.prompt(messages), return_tensors="pt", add_special_tokens=not self.uses_chat_template)
        inputs = {key: value.to(network.device) for key, value in inputs.items()}
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        failure: list[BaseException] = []

        def work() -> None:
            try:
                with self._stream_lock:  # the seed is global torch state: one streamed generation at a time
                    torch.manual_seed(seed)
                    network.generate(**inputs, streamer=streamer, do_sample=True, temperature=params.temperature,
                                     top_p=params.top_p, max_new_tokens=params.max_new_tokens,
                                     pad_token_id=tokenizer.pad_token_id)
            except BaseException as err:  # surfaced in the caller's thread below
                failure.append(err)
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        text = ""
        for piece in streamer:
            if piece:
                text += piece
                yield text
        thread.join()
        if failure:
            raise MedsynError(f"generation with {self.model} failed: {failure[0]}")
        if not text:
            yield ""

    def close(self) -> None:
        """Drop the model so its memory can be reclaimed (the GPU cache too)."""
        import torch

        self.network = None  # type: ignore[assignment]
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
