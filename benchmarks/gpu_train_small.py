"""A short LoRA training of a small LLaMA-like model on a GPU: tokens/s and peak memory, offline.

Usage (on a machine with a CUDA GPU):
    python benchmarks/gpu_train_small.py [--base-model PATH] [--steps 30] [--batch 8] [--seq 2048]
Without --base-model it builds a ~0.5B-parameter LLaMA from a config (random weights, random token ids), so it needs
no download and no tokenizer; with --base-model it loads that local folder. It trains LoRA r=16/alpha=16 on q/k/v/o in
bf16 with gradient checkpointing (MedSyn's recipe) for --steps steps after 3 warm-up steps and prints tokens/s,
peak GPU memory and the loss of the first and last step. Needs torch, transformers and peft only (not trl).
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-model", help="local model folder (default: a small LLaMA built from a config)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=2048)
    parser.add_argument("--hidden", type=int, default=1536)
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--no-checkpointing", action="store_true")
    args = parser.parse_args()

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU: this benchmark is for a lent GPU machine")
    torch.manual_seed(0)
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if args.base_model:
        model = AutoModelForCausalLM.from_pretrained(args.base_model, dtype=dtype)
    else:
        config = LlamaConfig(vocab_size=32000, hidden_size=args.hidden, intermediate_size=args.hidden * 8 // 3 // 64 * 64,
                             num_hidden_layers=args.layers, num_attention_heads=args.hidden // 128,
                             num_key_value_heads=args.hidden // 128, max_position_embeddings=args.seq)
        model = LlamaForCausalLM(config).to(dtype)
    model = model.cuda()
    if not args.no_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=16, lora_dropout=0.05, task_type="CAUSAL_LM",
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    vocab = model.config.vocab_size
    batch = torch.randint(0, vocab, (args.batch, args.seq), device="cuda")
    losses = []

    def step() -> None:
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for _ in range(args.steps):
        step()
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    tokens = args.steps * args.batch * args.seq
    print(f"device: {torch.cuda.get_device_name()}, dtype {dtype}, checkpointing {not args.no_checkpointing}")
    print(f"model: {total / 1e6:.0f}M parameters, {trainable / 1e6:.2f}M trainable (LoRA)")
    print(f"{args.steps} steps of {args.batch} x {args.seq} tokens in {elapsed:.2f} s: {tokens / elapsed:,.0f} tokens/s")
    print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    print(f"loss: first {losses[0]:.3f}, last {losses[-1]:.3f}")


if __name__ == "__main__":
    main()
