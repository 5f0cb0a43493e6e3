"""Tiny LLaMA-family models built inside the tests: real architectures and tokenizers, no downloaded weights."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

# Sentences to train the byte-level BPE on; written for the tests, not taken from any real note.
RUSSIAN_TEXT = [
    "Пациент жалуется на головную боль и слабость в течение трёх дней.",
    "Боль в шейном отделе позвоночника усиливается при движении.",
    "Отмечает повышение температуры тела до 38 градусов, насморк и кашель.",
    "Курит, женат, работает водителем. Аллергии нет.",
    "Объективно: состояние удовлетворительное, кожа обычной окраски.",
    "Давление 140 на 90, пульс 80 ударов в минуту, дыхание везикулярное.",
    "Жалобы на тошноту, изжогу и боль в эпигастрии после еды.",
    "Рекомендовано обследование: общий анализ крови, ЭКГ, рентген.",
    "### Задание: ### Вход: ### Ответ: симптомы пол возраст",
]

# Positions of the tiny model, so what `transformers serve` accepts as prompt plus answer. This byte-level BPE of
# 600 tokens spends about 0.8 tokens per character of medsyn's Russian prompts: ~700 tokens for the longest
# symptoms prompt, ~1,500 with a style example of `MAX_EXAMPLE_CHARS`. 512 turned real prompts away with HTTP 400
# (issue 22); test_backend_serve checks the headroom.
CONTEXT = 4096

CHAT_TEMPLATE = (
    "{% for message in messages %}<s>{{ message['role'] }}\n{{ message['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant\n{% endif %}"
)


def make_tokenizer(chat_template: bool = True):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<unk>", "<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(RUSSIAN_TEXT * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    if chat_template:
        fast.chat_template = CHAT_TEMPLATE
    return fast


def make_tiny_llama(out_dir: str | Path, chat_template: bool = True, seed: int = 0) -> Path:
    """Save a 2-layer LLaMA (~130k parameters) with its tokenizer to `out_dir` and return the path."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    tokenizer = make_tokenizer(chat_template)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=CONTEXT,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served_tiny_llama(root: str | Path, startup_s: float = 180.0) -> Iterator[tuple[str, str]]:
    """Serve a tiny LLaMA with a real `transformers serve` on loopback; yield (base_url, model_id).

    The server only samples when the model's generation config says so, so sampling is switched on there (seeds
    then matter). It runs in its own process group, stopped with SIGTERM (SIGKILL if it lingers).
    """
    import json
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    root = Path(root)
    model_dir = make_tiny_llama(root / "tiny-llama")
    config_path = model_dir / "generation_config.json"
    config = json.loads(config_path.read_text())
    config.update(do_sample=True, temperature=1.0, top_p=1.0, top_k=0)
    config_path.write_text(json.dumps(config))
    # The console script of the environment running us, never whatever `transformers` is first on PATH.
    cli = Path(sys.executable).with_name("transformers")
    if not cli.is_file():
        raise RuntimeError(f"{cli} missing: install transformers with fastapi and uvicorn in this environment")
    port = free_port()
    log = root / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(root / "hf")}
    command = [str(cli), "serve", "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", str(model_dir)]
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"transformers serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"transformers serve not healthy after {startup_s:.0f} s:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/v1", str(model_dir)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
        except ProcessLookupError:
            pass
