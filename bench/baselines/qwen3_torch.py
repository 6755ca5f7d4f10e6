#!/usr/bin/env python3
"""The PyTorch baseline for the GPU bench: Qwen3-Reranker's official transformers recipe (the model
card of Qwen/Qwen3-Reranker-0.6B on Hugging Face, "Transformers Usage": left-padded batches,
`model(**inputs).logits[:, -1, :]`, log-softmax over the "no" and "yes" logits) timed on the exact
token ids the bench fed llama-rerank (`npm run bench -- --tokens FILE`).

The model is built from a Qwen3Config of the GGUF's shape with random weights: no download, so it
runs on a machine without internet; the scores mean nothing, the compute is the real model's.
Two variants: "official" (the recipe: the LM head on every token) and "lastToken" (the same model,
the LM head on each pair's last token only). A request's pairs go in batches of at most --batch;
concurrent requests of a workload are run one after another, as one PyTorch process serves them.

  python3 bench/baselines/qwen3_torch.py --tokens tokens.json --out torch.json            # bf16 on CUDA
  python3 bench/baselines/qwen3_torch.py --tokens tokens.json --out t.json --device cpu --tiny   # a check
"""
import argparse
import json
import statistics
import time

import torch
import transformers
from transformers import Qwen3Config, Qwen3ForCausalLM

PAD_ID = 151643  # <|endoftext|>, the Qwen tokenizer's padding token


def build_model(shape, tiny, device, dtype, attention):
    if tiny:  # a few layers of small width: only checks that the script runs
        shape = dict(shape, layers=2, hidden=64, heads=4, kvHeads=2, headDim=16, ff=128)
    config = Qwen3Config(
        vocab_size=shape["vocab"], hidden_size=shape["hidden"], num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"], num_key_value_heads=shape["kvHeads"], head_dim=shape["headDim"],
        intermediate_size=shape["ff"], rope_theta=shape["ropeTheta"], rms_norm_eps=round(shape["rmsEps"], 9),
        max_position_embeddings=40960, tie_word_embeddings=True,
    )
    config._attn_implementation = attention
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen3ForCausalLM(config)
    return model.to(dtype).eval(), config


def padded(pairs, device):
    """The recipe's tokenizer.pad(padding=True) with padding_side='left': ids and attention mask."""
    width = max(len(p) for p in pairs)
    ids = torch.full((len(pairs), width), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    for i, p in enumerate(pairs):
        ids[i, width - len(p):] = torch.tensor(p)
        mask[i, width - len(p):] = 1
    return ids.to(device), mask.to(device)


def yes_probability(last_logits, yes_id, no_id):
    pair = torch.stack([last_logits[:, no_id], last_logits[:, yes_id]], dim=1)
    return torch.nn.functional.log_softmax(pair, dim=1)[:, 1].exp().tolist()


@torch.no_grad()
def official(model, ids, mask, yes_id, no_id):
    return yes_probability(model(input_ids=ids, attention_mask=mask).logits[:, -1, :], yes_id, no_id)


@torch.no_grad()
def last_token(model, ids, mask, yes_id, no_id):
    hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state[:, -1, :]
    return yes_probability(model.lm_head(hidden), yes_id, no_id)


VARIANTS = {"official": official, "lastToken": last_token}


def run_pass(score, model, workload, batch, device, yes_id, no_id):
    """Every request of the workload, each in batches of at most `batch` pairs; the scores of the first."""
    first = None
    for request in workload["requests"]:
        scores = []
        for i in range(0, len(request), batch):
            ids, mask = padded(request[i:i + batch], device)
            scores += score(model, ids, mask, yes_id, no_id)  # .tolist() waits for the GPU
        first = first if first is not None else scores
    return first


def time_workload(score, model, workload, args, yes_id, no_id):
    pairs = [p for r in workload["requests"] for p in r]
    run_pass(score, model, workload, args.batch, args.device, yes_id, no_id)  # warm-up: kernels, cuBLAS plans
    times = []
    for _ in range(min(workload["repeats"], args.max_repeats)):
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        first = run_pass(score, model, workload, args.batch, args.device, yes_id, no_id)
        times.append((time.perf_counter() - t0) * 1000)
    if not all(s == s for s in first):  # NaN
        raise RuntimeError(f"{workload['id']}: non-finite scores")
    padded_tokens = sum(
        len(r[i:i + args.batch]) * max(len(p) for p in r[i:i + args.batch])
        for r in workload["requests"] for i in range(0, len(r), args.batch)
    )
    median = statistics.median(times)
    return {
        "passes": len(times), "pairs": len(pairs), "tokens": sum(len(p) for p in pairs), "paddedTokens": padded_tokens,
        "msPerPass": [round(t, 3) for t in times], "medianMs": round(median, 3),
        "pairsPerSec": round(len(pairs) * 1000 / median, 2), "firstScores": [round(s, 6) for s in first[:4]],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", required=True, help="the token ids the bench wrote (npm run bench -- --tokens FILE)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", choices=["bfloat16", "float16", "float32"], help="default: bfloat16 on CUDA, float32 on the CPU")
    ap.add_argument("--attention", default="sdpa", choices=["sdpa", "eager", "flash_attention_2"])
    ap.add_argument("--batch", type=int, default=100, help="pairs per forward pass at most")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--workloads", help="ids to run (default: every workload in the file)")
    ap.add_argument("--max-repeats", type=int, default=10)
    ap.add_argument("--tiny", action="store_true", help="a 2-layer model of width 64, to check the script on a CPU")
    args = ap.parse_args()
    dtype = getattr(torch, args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32"))

    with open(args.tokens) as f:
        tokens = json.load(f)
    model, config = build_model(tokens["model"]["shape"], args.tiny, args.device, dtype, args.attention)
    yes_id, no_id = tokens["model"]["yesId"], tokens["model"]["noId"]
    wanted = set(args.workloads.split(",")) if args.workloads else None
    workloads = [w for w in tokens["workloads"] if wanted is None or w["id"] in wanted]

    out = {
        "script": "bench/baselines/qwen3_torch.py",
        "device": torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "CPU",
        "torch": torch.__version__, "transformers": transformers.__version__, "dtype": str(dtype).replace("torch.", ""),
        "attention": model.config._attn_implementation, "batch": args.batch, "tiny": args.tiny,
        "config": {k: getattr(config, k) for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                                                    "num_key_value_heads", "head_dim", "intermediate_size")},
        "variants": {},
    }
    for name in args.variants.split(","):
        out["variants"][name] = {}
        for w in workloads:
            r = time_workload(VARIANTS[name], model, w, args, yes_id, no_id)
            out["variants"][name][w["id"]] = r
            print(f"{name:9} {w['id']:5} {r['medianMs']:10.1f} ms  {r['pairsPerSec']:9.1f} pairs/s  ({r['pairs']} pairs, {r['tokens']} tokens)", flush=True)
            if args.device.startswith("cuda"):
                torch.cuda.empty_cache()
        with open(args.out, "w") as f:  # after each variant: a later failure keeps what was measured
            json.dump(out, f, indent=1)
    # The variants differ only in where the LM head runs: their scores must agree (bf16 rounding aside).
    runs = list(out["variants"].values())
    if len(runs) > 1:
        gap = max(abs(a - b) for w in runs[0] for a, b in zip(runs[0][w]["firstScores"], runs[1][w]["firstScores"]))
        print(f"variants agree within {gap:.2e}")


if __name__ == "__main__":
    main()
