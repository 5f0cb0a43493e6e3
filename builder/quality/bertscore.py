"""BERTScore of generated notes against their style examples with a local encoder (a score, never a verdict)."""

from __future__ import annotations

from tqdm.auto import tqdm

from medsyn.errors import MedsynError


def bertscore(
    candidates: list[str], references: list[str], model_path: str, batch_size: int = 16, progress: bool = False
) -> tuple[list[float], list[float], list[float]]:
    """BERTScore (Zhang et al. 2020) of each candidate against its reference with a local encoder.

    Tokens are embedded once per distinct text (last hidden layer, special tokens left out), and each token is
    greedily matched to its most similar (cosine) token of the other text: precision averages over candidate
    tokens, recall over reference tokens, F1 is their harmonic mean. No idf weighting or baseline rescaling,
    which need corpus statistics or published per-model baselines.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    if len(candidates) != len(references):
        raise ValueError(f"bertscore: {len(candidates)} candidates but {len(references)} references")
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        model = AutoModel.from_pretrained(model_path, local_files_only=True).eval()
    except (OSError, ValueError) as err:
        raise MedsynError(
            f"--bertscore-model {model_path}: cannot load a local encoder ({err}); pass a directory with "
            "config.json, weights and tokenizer files (nothing is downloaded)"
        ) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    texts = list(dict.fromkeys([*candidates, *references]))
    embedded: dict[str, torch.Tensor] = {}
    limit = min(getattr(tokenizer, "model_max_length", 512) or 512, 512)
    with torch.inference_mode():
        for start in tqdm(range(0, len(texts), batch_size), desc="bertscore", disable=not progress):
            batch = texts[start : start + batch_size]
            enc = tokenizer(
                batch, padding=True, truncation=True, max_length=limit, return_tensors="pt",
                return_special_tokens_mask=True,
            )  # fmt: skip
            special = enc.pop("special_tokens_mask").bool()
            hidden = model(**enc).last_hidden_state
            hidden = torch.nn.functional.normalize(hidden.float(), dim=-1)
            keep = enc["attention_mask"].bool() & ~special
            for text, vectors, mask in zip(batch, hidden, keep):
                embedded[text] = vectors[mask]
    precision, recall, f1 = [], [], []
    for cand, ref in zip(candidates, references):
        c, r = embedded[cand], embedded[ref]
        if not len(c) or not len(r):
            p = rc = 0.0
        else:
            sim = c @ r.T
            p, rc = sim.max(dim=1).values.mean().item(), sim.max(dim=0).values.mean().item()
        precision.append(p)
        recall.append(rc)
        f1.append(2 * p * rc / (p + rc) if p + rc > 0 else 0.0)
    return precision, recall, f1
