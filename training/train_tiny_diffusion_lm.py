"""Train tiny-diffusion-lm: a masked-diffusion language model adapted from tiny-gpt (same tokens, same
plays, one extra MASK token, the causal mask off), with the MDLM / LLaDA objective.

    python -m training.train_tiny_diffusion_lm                       # -> assets/models/tiny-diffusion-lm/
    python -m training.train_tiny_diffusion_lm --time-limit 3000     # stop (and save) after 50 minutes
    python -m training.train_tiny_diffusion_lm --steps 3 --eval-windows 4 --out /tmp/dlm   # a smoke run
    python -m training.train_tiny_diffusion_lm --from-shipped --steps 20000   # go on from the shipped weights
                                                                              # (a fresh optimizer; e.g. on a GPU)

Resumable: state every 500 steps under runs/tiny-diffusion-lm/ (rerun the same command; with another
--out, in a folder beside it named <out>.state). The
checkpoint kept is the one with the best bound on the selection play (twelfth-night), never on the
held-out plays; the card's figures (the bound's perplexity on the held-out plays vs tiny-gpt's on the
same windows) are measured at the end. Computes in bfloat16 autocast on CUDA and on a CPU that has
bfloat16 in hardware (`models.diffusion.native_bf16`: 2,400 -> 4,560 tokens a second on 2 AVX512-BF16
cores, batch 32); float32 elsewhere. Dropout is off by default: tiny-gpt's 0.15 took a third of a CPU step
(drawing the masks: 4.65 -> 2.35 s for 64 windows on 2 cores, 3,500 -> 6,900 tokens a second), and this
model underfits its training plays (after the fourth run, 48 windows each: bound 77.7 on the training plays, 143.7 on
the selection play; tiny-gpt 17.6 and 63.7), so it needs fitting more than regularising.
On a CPU a run of 2,500 steps takes about 1.7 h (the sixth run: held-out 2.21x -> 1.73x tiny-gpt; the
seventh, 3,000 steps in 2.0 h: 1.73x -> 1.45x, under the issue's bar of 1.5x; the ninth, 2,000 steps at
lr 1.5e-4 in about 1.4 h: 1.45x -> 1.38x); the goal (1.25x) needs more of them, or a GPU.
With --from-shipped, the shipped model's own selection bound is measured first (logged as step 0), so a
run only replaces it with a better checkpoint.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer, GPT2LMHeadModel

from models import shakespeare
from models.diffusion import native_bf16
from models.masked_diffusion import adapt_from_autoregressive, diffusion_loss, nll_bound, reads_both_ways

ROOT = Path(__file__).resolve().parent.parent
TINY_GPT = ROOT / "assets" / "models" / "tiny-gpt-shakespeare"
OUT = ROOT / "assets" / "models" / "tiny-diffusion-lm"
RUNS = ROOT / "runs" / "tiny-diffusion-lm"


def token_ids(tok, split: str) -> torch.Tensor:
    return torch.as_tensor(tok(shakespeare.corpus(split))["input_ids"], dtype=torch.long)


def windows(ids: torch.Tensor, length: int, limit: int | None = None) -> torch.Tensor:
    """Non-overlapping windows of `length` tokens (the last partial one dropped)."""
    n = len(ids) // length
    w = ids[: n * length].view(n, length)
    return w[:limit] if limit else w


@torch.no_grad()
def ar_nll(model, wins: torch.Tensor, bos: int, batch: int = 16) -> float:
    """tiny-gpt's NLL per token on the same windows, each read after the same start token."""
    dev = next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, len(wins), batch):
        x = wins[i:i + batch].to(dev)
        inp = torch.cat([torch.full_like(x[:, :1], bos), x], 1)
        logits = model(input_ids=inp).logits.float()[:, :-1]
        total += float(torch.nn.functional.cross_entropy(logits.transpose(1, 2), x, reduction="sum"))
        count += x.numel()
    return total / count


def evaluate(model, ar, mask_id: int, wins: torch.Tensor, samples: int = 16) -> dict:
    model.eval()
    bound = nll_bound(model, wins, mask_id, samples=samples)
    ar_n = ar_nll(ar, wins, model.config.bos_token_id)
    model.train()
    return dict(bound_ppl=math.exp(bound), tiny_gpt_ppl=math.exp(ar_n), ratio=math.exp(bound - ar_n),
                windows=len(wins), tokens_per_window=wins.shape[1], t_samples=samples)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--time-limit", type=float, default=None, help="seconds; saves and stops when reached")
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--eval-windows", type=int, default=64)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dropout", type=float, default=0.0,
                   help="attention, embedding and residual dropout while training (tiny-gpt's was 0.15)")
    p.add_argument("--from-shipped", action="store_true",
                   help="start from the weights in assets/models/tiny-diffusion-lm/ instead of adapting tiny-gpt")
    a = p.parse_args(argv)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(a.seed)
    tok = AutoTokenizer.from_pretrained(TINY_GPT)
    ar = GPT2LMHeadModel.from_pretrained(TINY_GPT, dtype=torch.float32).to(dev).eval()
    model, mask_id = adapt_from_autoregressive(ar)
    if a.from_shipped:
        model = GPT2LMHeadModel.from_pretrained(OUT, dtype=torch.float32)
    model.config.attn_pdrop = model.config.embd_pdrop = model.config.resid_pdrop = a.dropout
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = a.dropout
    model.to(dev).eval()
    if not reads_both_ways(model, mask_id):
        raise SystemExit("This transformers version ignores is_causal=False for GPT-2: the denoiser would read "
                         "left to right only. Use the version in requirements.txt.")
    model.train()
    length = model.config.n_positions - 1  # the start token takes one position
    train = token_ids(tok, "train")
    select = windows(token_ids(tok, "selection"), length, a.eval_windows)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01, betas=(0.9, 0.98))
    warm = max(1, a.steps // 50)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / a.steps)))))
    start, seconds, log, best = 0, 0.0, [], math.inf
    # the shipped model's run resumes from runs/; another --out (a smoke run, a GPU job's folder) keeps its
    # state beside it, so it never resumes from, or overwrites, the state of the run that makes the app's model
    runs = RUNS if a.out.resolve() == OUT.resolve() else a.out.with_name(a.out.name + ".state")
    if (runs / "state.pt").exists():
        st = torch.load(runs / "state.pt", map_location=dev, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        sched.load_state_dict(st["sched"])
        start, seconds, log, best = st["step"], st["seconds"], st["log"], st["best"]
        print(f"resuming at step {start}", flush=True)
    elif a.from_shipped:  # the weights to beat: a checkpoint is kept only if its bound is lower
        best = evaluate(model, ar, mask_id, select)["bound_ppl"]
        a.out.mkdir(parents=True, exist_ok=True)
        if a.out.resolve() != OUT.resolve():  # so the end always has a kept checkpoint to measure
            model.save_pretrained(a.out)
            tok.save_pretrained(a.out)
        log.append(dict(step=0, seconds=0.0, selection_bound_ppl=round(best, 3)))
        print(f"  shipped model, selection play: bound ppl {best:.2f}", flush=True)
    g = torch.Generator().manual_seed(a.seed + start)
    print(f"tiny-diffusion-lm: {sum(q.numel() for q in model.parameters()):,} parameters, mask id {mask_id}, "
          f"{len(train):,} training tokens, windows of {length}, on {dev}", flush=True)
    t0 = time.perf_counter()
    bf16 = dev == "cuda" or native_bf16()
    amp = torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16)
    step = start
    for step in range(start + 1, a.steps + 1):
        starts = torch.randint(0, len(train) - length, (a.batch,), generator=g)
        x0 = torch.stack([train[s:s + length] for s in starts.tolist()]).to(dev)
        with amp:
            loss = diffusion_loss(model, x0, mask_id, g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        elapsed = seconds + time.perf_counter() - t0
        last = step == a.steps or (a.time_limit is not None and elapsed > a.time_limit)
        if step % 100 == 0 or last:
            print(f"step {step:6d}  loss {loss.item():.4f}  {elapsed:7.0f} s", flush=True)
        if step % a.eval_every == 0 or last:
            e = evaluate(model, ar, mask_id, select)
            log.append(dict(step=step, seconds=round(elapsed, 1), selection_bound_ppl=round(e["bound_ppl"], 3)))
            print(f"  selection play: bound ppl {e['bound_ppl']:.2f} (tiny-gpt {e['tiny_gpt_ppl']:.2f})", flush=True)
            if e["bound_ppl"] < best:
                best = e["bound_ppl"]
                a.out.mkdir(parents=True, exist_ok=True)
                model.save_pretrained(a.out)
                tok.save_pretrained(a.out)
        if step % 500 == 0 or last:
            runs.mkdir(parents=True, exist_ok=True)
            torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(), step=step,
                            seconds=elapsed, log=log, best=best), runs / "state.pt")
        if last:
            break
    seconds += time.perf_counter() - t0
    kept = GPT2LMHeadModel.from_pretrained(a.out, dtype=torch.float32).to(dev)
    held = windows(token_ids(tok, "validation"), length)
    final = evaluate(kept, ar, mask_id, held)
    info = dict(steps=step, batch=a.batch, lr=a.lr, dropout=a.dropout, precision="bfloat16 autocast" if bf16 else "float32",
                seconds=round(seconds, 1), mask_id=mask_id,
                device=torch.cuda.get_device_name() if dev == "cuda" else "cpu", held_out=final,
                best_selection_bound_ppl=round(best, 3), log=log, tokens_seen=int(step * a.batch * length),
                best_step=min(log, key=lambda e: e["selection_bound_ppl"])["step"])  # the last step is always logged
    if a.from_shipped and (OUT / "training.json").exists():  # the runs the started-from weights came from
        earlier = json.loads((OUT / "training.json").read_text())
        info["earlier_runs"] = earlier.pop("earlier_runs", []) + [
            {k: earlier[k] for k in ("steps", "batch", "lr", "dropout", "seconds", "device", "tokens_seen", "held_out") if k in earlier}]
    (a.out / "training.json").write_text(json.dumps(info, indent=1, default=float) + "\n")
    print(json.dumps(final, indent=1), flush=True)


if __name__ == "__main__":
    main()
