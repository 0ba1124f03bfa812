"""Train `tiny-gpt`: a small GPT-2 on Shakespeare's plays (hamlet and the-tempest held out).

    python -m training.train_tiny_gpt                 # rebuild assets/models/tiny-gpt-shakespeare/
    python -m training.train_tiny_gpt --prepare-only  # tokenizer, token ids and baselines only
    python -m training.train_tiny_gpt --steps 300 --out /tmp/gpt   # a quick smoke run

Stages (each resumable; `--workdir` keeps the state):
1. a 4,096-token byte-level BPE trained with `tokenizers` on the training plays, saved as a
   transformers fast tokenizer;
2. the unigram and interpolated-bigram baselines on the same token ids;
3. GPT-2 training (AdamW, warm-up + cosine, dropout), evaluating on the selection play every
   `--eval-every` steps and keeping the best weights; checkpoints at 0/200/1000 steps (fp16);
4. held-out perplexity on hamlet + the-tempest, and a model card with every figure.

Runs on CUDA when present (bf16 autocast), else on the CPU.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "assets" / "models" / "tiny-gpt-shakespeare"
VOCAB = 4096
MODEL_CONFIG = dict(n_positions=256, n_embd=192, n_layer=6, n_head=6, resid_pdrop=0.15,
                    embd_pdrop=0.15, attn_pdrop=0.15)


def train_tokenizer(text: str, out: Path):
    """Byte-level BPE (GPT-2 style) with one special token, saved for AutoTokenizer."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator([text[i:i + 10000] for i in range(0, len(text), 10000)],
                            vocab_size=VOCAB, min_frequency=2, special_tokens=["<|endoftext|>"])
    tok = PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token="<|endoftext|>",
                                  eos_token="<|endoftext|>", unk_token="<|endoftext|>",
                                  model_max_length=MODEL_CONFIG["n_positions"])
    tok.save_pretrained(out)
    return tok


def encode(tok, text: str) -> np.ndarray:
    return np.asarray(tok(text)["input_ids"], dtype=np.int32)


def prepare(out: Path, workdir: Path) -> dict:
    """Tokenizer + token ids + baselines, cached in workdir/tokens.npz and baselines.json."""
    from transformers import AutoTokenizer

    from models import shakespeare
    from training.lm_eval import baselines

    tokens_path, base_path = workdir / "tokens.npz", workdir / "baselines.json"
    if tokens_path.exists() and base_path.exists() and (out / "tokenizer.json").exists():
        return json.loads(base_path.read_text())
    workdir.mkdir(parents=True, exist_ok=True)
    train_text = shakespeare.corpus("train")
    tok = train_tokenizer(train_text, out)
    tok = AutoTokenizer.from_pretrained(out)
    ids = {s: encode(tok, shakespeare.corpus(s) if s != "train" else train_text)
           for s in ("train", "selection", "validation")}
    np.savez_compressed(tokens_path, **ids)
    base = baselines(ids["train"], ids["selection"], ids["validation"], VOCAB)
    base.update({f"{s}_tokens": int(len(v)) for s, v in ids.items()})
    base_path.write_text(json.dumps(base, indent=1))
    print("baselines:", base, flush=True)
    return base


def build_model(seed: int = 0):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=VOCAB, bos_token_id=0, eos_token_id=0, **MODEL_CONFIG)
    return GPT2LMHeadModel(cfg)


def save_fp16(model, path: Path) -> None:
    m = copy.deepcopy(model).to("cpu").half()
    m.save_pretrained(path, safe_serialization=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--block", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--workdir", type=Path, default=Path("runs/tiny-gpt"))
    p.add_argument("--checkpoints", default="0,200,1000")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--prepare-only", action="store_true")
    p.add_argument("--time-limit", type=float, default=float("inf"), help="stop training after this many seconds")
    args = p.parse_args(argv)

    from training.lm_eval import perplexity

    base = prepare(args.out, args.workdir)
    if args.prepare_only:
        return
    device = torch.device(args.device)
    data = np.load(args.workdir / "tokens.npz")
    train = torch.from_numpy(data["train"].astype(np.int64)).to(device)
    model = build_model(args.seed).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1, betas=(0.9, 0.95))

    def lr_at(step: int) -> float:
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        frac = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))

    state_path = args.workdir / "state.pt"
    gen = torch.Generator(device=device).manual_seed(args.seed)
    step, elapsed, history, best = 0, 0.0, [], dict(ppl=float("inf"), step=0)
    best_state = None
    if state_path.exists():
        s = torch.load(state_path, map_location=device, weights_only=False)
        model.load_state_dict(s["model"])
        opt.load_state_dict(s["opt"])
        gen.set_state(s["gen"])
        step, elapsed, history, best, best_state = s["step"], s["elapsed"], s["history"], s["best"], s["best_state"]
        print(f"resumed at step {step}", flush=True)
    print(f"tiny-gpt: {n_params:,} parameters, {len(train):,} training tokens, device {device}", flush=True)
    keep = {int(s) for s in args.checkpoints.split(",") if s}
    if step == 0 and 0 in keep:
        save_fp16(model, args.out / "checkpoints" / "step-00000")
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    t0, losses = time.time(), []
    torch.backends.cuda.matmul.allow_tf32 = True
    while step < args.steps and elapsed + (time.time() - t0) < args.time_limit:
        model.train()
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        starts = torch.randint(0, len(train) - args.block - 1, (args.batch,), generator=gen, device=device)
        x = train[starts[:, None] + torch.arange(args.block, device=device)]  # (B, T)
        with autocast:
            loss = model(x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        losses.append(loss.detach())
        if step in keep:
            save_fp16(model, args.out / "checkpoints" / f"step-{step:05d}")
        out_of_time = elapsed + (time.time() - t0) >= args.time_limit
        if step % args.eval_every == 0 or step == args.steps or out_of_time:
            sel = perplexity(model, data["selection"], block=args.block, device=device)
            now = time.time()
            elapsed += now - t0
            t0 = now
            history.append(dict(step=step, train_loss=float(torch.stack(losses).mean()), selection_ppl=sel))
            losses = []
            if sel < best["ppl"]:
                best = dict(ppl=sel, step=step)
                best_state = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}
            print(f"step {step}/{args.steps} train loss {history[-1]['train_loss']:.3f} "
                  f"selection ppl {sel:.1f} (best {best['ppl']:.1f} @ {best['step']}) {elapsed:.0f}s", flush=True)
            torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), gen=gen.get_state(), step=step,
                            elapsed=elapsed, history=history, best=best, best_state=best_state), state_path)

    model.load_state_dict(best_state)
    val_ppl = perplexity(model, data["validation"], block=args.block, device=device)
    save_fp16(model, args.out)
    from transformers import AutoModelForCausalLM

    reloaded = AutoModelForCausalLM.from_pretrained(args.out, dtype=torch.float32).to(device)
    val_ppl_fp16 = perplexity(reloaded, data["validation"], block=args.block, device=device)
    report = dict(parameters=n_params, steps=step, best_step=best["step"], batch=args.batch, block=args.block,
                  lr=args.lr, seed=args.seed, seconds=round(elapsed, 1),
                  device_name=torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                  validation_ppl=val_ppl, validation_ppl_shipped_fp16=val_ppl_fp16,
                  ratio_to_bigram=val_ppl_fp16 / base["bigram_ppl"], history=history, **base)
    (args.out / "training.json").write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "history"}, indent=1), flush=True)


if __name__ == "__main__":
    main()
