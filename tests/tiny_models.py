"""Tiny LLaMA-family models built inside the tests: real architectures and tokenizers, no downloaded weights."""

from __future__ import annotations

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
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    out_dir = Path(out_dir)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
