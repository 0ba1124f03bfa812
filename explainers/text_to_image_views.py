"""Views of a text-to-image run: HTML blocks with every frame shipped once (explainers.frames).

- `tokens_html`: the prompt as the text encoder's tokens, rare words marked.
- `step_view`: a Step slider over the run: the 4 latent channels, the decoded current image, the
  predicted clean image, guidance (unconditional / conditional / difference) and every word's
  cross-attention map at that step.
- `words_view`: each word's map summed over all steps (DAAM), over the final image, with Layer and
  Head sliders (0 = the average).
- `patches_view`: pick a patch (slider or click), see where it looks (self-attention) at each step.
- `gallery`, `swap_view`, `interpolation_view`, `costs_table`.
"""

from __future__ import annotations

import html

import numpy as np

from explainers import charts, frames
from explainers.t2i_comparisons import Interpolation, LatentCosts
from explainers.t2i_spec import (
    SPECIAL,
    TextToImageResult,
    read_as_evidence,
    unseen_word_evidence,
    word_map_finding,
    word_maps,
    words_of,
)
from explainers.text_input import check_number
from models.text_image_data import COLOURS, POSITIONS, SIZES

IMG = 150  # display width of a 32x32 image (pixels are drawn crisp)
MAP = 72  # display width of one word's 8x8 attention map
LATENT_RANGE = 3.0  # latents shown from -3 to +3 (unit variance by construction)
MAP_SCALE = frames.colour_scale("inferno", "read least", "read most", 120)


def _finding(r: TextToImageResult) -> str:
    """What the maps show, measured over many prompts (the model's shipped table), or nothing."""
    text = word_map_finding(r.model)
    return f'<p class="caption"><b>What these maps show.</b> {html.escape(text)}</p>' if text else ""


def tokens_html(r: TextToImageResult) -> str:
    rare = set(r.rare_words)
    rare_tokens = {i for w, idx in words_of(r.tokens) if w.lower() in rare for i in idx}
    chips = []
    for i, tok in enumerate(r.tokens):
        style = "border:1px dashed #777;background:#f3f3f3" if tok in SPECIAL else "background:#dbeafe"
        mark = ""
        if i in rare_tokens:
            style, mark = "background:#fde68a", " (never in a training caption)"
        chips.append(f'<span role="listitem" class="tok" style="{style}" title="token {i}{mark}">{html.escape(tok)}<sub>{i}</sub></span>')
    note = []
    if r.truncated:
        note.append(f"The prompt was cut at {len(r.tokens)} tokens: the model reads at most that many.")
    if not r.prompt:
        note.append("Empty prompt: the model draws unconditionally (guidance has nothing to push towards).")
    if r.read_as:
        swaps = ", ".join(f"'{typed}' as '{read}'" for typed, read in r.read_as)
        them = "it" if len(r.read_as) == 1 else "each"
        note.append(f"No training caption uses {' or '.join(repr(t) for t, _ in r.read_as)}, so before the text "
                    f"encoder the app looked {them} up in WordNet (a dictionary of English word senses) and the model "
                    f"read {swaps}: the chips show what it read. DALL-E 3 rewrites prompts the same way, with a "
                    f"language model. {read_as_evidence(r.model)}".strip())
    if rare:
        quoted = ", ".join(f"'{w}'" for w in r.rare_words)
        note.append(f"This model learned only digits (as figures or words), {len(COLOURS)} colours, {len(SIZES)} sizes "
                    f"and {len(POSITIONS)} positions: {quoted} never appeared in a training caption (marked "
                    "yellow).")
        if r.rare_nearest:
            near = ", ".join(f"'{w}' -> '{n}' {sim:.2f}" for w, n, sim in r.rare_nearest)
            note.append("The text encoder still gives every word a vector, and the image model reads only those "
                        f"vectors. The nearest word it learned (cosine similarity, 1 = the same vector): {near}. "
                        f"{unseen_word_evidence(r.model)}".strip())
    extra = "".join(f'<p class="caption">{html.escape(n)}</p>' for n in note)
    return (f'<div class="chips" role="list" aria-label="Prompt tokens">{"".join(chips)}</div>{extra}')


def _map_over(img_uri: str, heat: np.ndarray, vmax: float, caption: str, alt: str,
              pics: frames.Pictures | None) -> str:
    """A word's map (one cell per latent patch, inferno) laid over the image in the browser: the image
    is sent once per frame, the map as a tiny tile, instead of one blended picture per word."""
    base = frames.img_tag(img_uri, f"the image under the map of '{caption}'", MAP)
    over = frames.img_tag(frames.heat_uri(heat, 0.0, max(vmax, 1e-8), "inferno", pics), alt, MAP, cls="t2i-heat")
    return (f'<figure class="fv-fig" style="max-width:110px"><span class="t2i-ov">{base}{over}</span>'
            f'<figcaption>{html.escape(caption)}</figcaption></figure>')


def _word_row(words: list[str], maps: np.ndarray, img: np.ndarray | None, what: str,
              pics: frames.Pictures | None = None) -> str:
    """One map per word; bright = the patches that read this word most (each map scaled to its own peak)."""
    base = frames.rgb_uri(img, pics) if img is not None else None
    cells = []
    for w, m in zip(words, maps):
        peak = np.unravel_index(int(m.argmax()), m.shape)
        alt = (f"{what} for the word '{w}': strongest at row {peak[0] + 1}, column {peak[1] + 1} of the "
               f"{m.shape[0]} x {m.shape[1]} patches")
        if base is None:
            cells.append(frames.figure_tag(frames.heat_uri(m, 0, float(maps.max()) or 1.0, pics=pics), w, alt, MAP))
        else:
            cells.append(_map_over(base, m, float(m.max()), w, alt, pics))
    return f'<div class="t2i-words">{"".join(cells)}</div>'


def step_view(r: TextToImageResult, skip_special: bool = True) -> str:
    words, maps = word_maps(r.tokens, r.cross_attention, skip_special)  # (steps, W, h, w)
    pics = frames.Pictures()
    items = {}
    for s in range(r.steps + 1):
        last = s == r.steps
        lat = "".join(frames.figure_tag(frames.heat_uri(r.latents[s, c], -LATENT_RANGE, LATENT_RANGE, frames.DIVERGING,
                                                        pics), f"ch {c + 1}", f"Latent channel {c + 1} at step {s}", 64)
                      for c in range(r.latents.shape[1]))
        k = min(s, r.steps - 1)
        x0 = r.image if last else r.x0_decoded[s]
        parts = [
            f'<h4>Step {s} of {r.steps}' + (" (pure noise)" if s == 0 else " (done)" if last else
                                            f" (t = {int(r.timesteps[s])})") + "</h4>",
            '<div class="t2i-row">',
            f'<div class="t2i-block"><p class="caption">Latent x_t: {" x ".join(map(str, r.latents.shape[1:]))} = '
            f'{r.latents[0].size:,} numbers '
            f'(blue negative, red positive)</p>{lat}</div>',
            frames.figure_tag(frames.rgb_uri(r.decoded[s], pics), "x_t, decoded", f"Step {s}: the current latent decoded",
                              IMG),
            frames.figure_tag(frames.rgb_uri(x0, pics), "final image" if last else "predicted clean image",
                              f"Step {s}: the model's guess of the finished image", IMG),
            "</div>",
        ]
        if r.steps:
            diff = np.abs(r.x0_cond[k] - r.x0_uncond[k]).sum(axis=2)
            neg = f"negative prompt '{r.negative_prompt}'" if r.negative_prompt else "empty prompt"
            parts += [
                f'<p class="caption"><b>Guidance at step {k}</b> (scale {r.guidance:g}, against the {html.escape(neg)})</p>',
                '<div class="t2i-row">',
                frames.figure_tag(frames.rgb_uri(r.x0_uncond[k], pics), "without prompt", f"Step {k}: unconditional guess",
                                  110),
                frames.figure_tag(frames.rgb_uri(r.x0_cond[k], pics), "with prompt", f"Step {k}: conditional guess", 110),
                frames.figure_tag(frames.heat_uri(diff, 0, 3, pics=pics), "difference",
                                  f"Step {k}: where the prompt changes the guess", 110),
                "</div>",
            ]
            if len(words):
                parts += [f'<p class="caption"><b>Which word shaped which pixels at step {k}</b></p>',
                          _word_row(words, maps[k], r.x0_decoded[k], f"Step {k} cross-attention", pics)]
        items[(s,)] = "".join(parts)
    axis = frames.Axis("Step", 0, r.steps, r.steps, "0 = pure noise")
    header = (f'<p class="caption">At each step: the latent, decoded; the model\'s guess of the finished image. '
              f"<b>Guidance</b>: the guess without the prompt, with it, and where they differ; the sampler moves "
              f"{r.guidance:g} times that difference away from the first. <b>Words</b>: each word's cross-attention "
              "(averaged over layers and heads) over the guess, each map scaled to its own peak "
              f"{MAP_SCALE}.</p>" + _finding(r))
    return frames.scrubber([axis], items, header=header, play=True, pics=pics)


def words_view(r: TextToImageResult, skip_special: bool = True) -> str:
    """DAAM: each word's cross-attention summed over all steps, for every layer and head (0 = mean)."""
    words, _ = word_maps(r.tokens, r.cross_attention, skip_special)
    if not words:
        return '<p class="caption">No words to show: the prompt is empty.</p>'
    pics = frames.Pictures()
    heads = r.cross_attention_heads.astype(np.float32).sum(axis=0)  # (layers, heads, L, h, w)
    n_layers, n_heads = heads.shape[:2]
    if n_layers * n_heads > 48:  # a big model: layers only (heads averaged), to keep the page light
        heads, n_heads = heads.mean(axis=1, keepdims=True), 0
    items = {}
    for layer in range(n_layers + 1):
        for head in range(n_heads + 1):
            m = heads if layer == 0 else heads[layer - 1:layer]
            m = m.mean(axis=0)
            m = m.mean(axis=0) if head == 0 else m[head - 1]
            _, wm = word_maps(r.tokens, m, skip_special)
            where = ("all layers" if layer == 0 else f"layer {layer}") + (", all heads" if head == 0 else f", head {head}")
            items[(layer, head)] = (f'<p class="caption">Summed over all {r.steps} steps, {where}.</p>'
                                    + _word_row(words, wm, r.decoded[-1], f"Summed cross-attention, {where},", pics))
    header = f'<p class="caption">Each map scaled to its own peak {MAP_SCALE}.</p>' + _finding(r)
    axes = [frames.Axis("Layer", 0, n_layers, 0, "0 = average of all layers"),
            frames.Axis("Head", 0, n_heads, 0, "0 = average of all heads" if n_heads else "heads averaged")]
    return frames.scrubber(axes, items, header=header, pics=pics)


def patches_view(r: TextToImageResult, max_steps: int = 26) -> str:
    """Self-attention: where one latent patch looks, per step (subsampled to max_steps)."""
    n = r.self_attention.shape[1]
    side = int(round(n ** 0.5))
    shown = np.unique(np.linspace(0, r.steps - 1, min(r.steps, max_steps)).round().astype(int))
    items = {}
    for i, s in enumerate(shown):
        for p in range(n):
            row, col = divmod(p, side)
            a = r.self_attention[s, p].reshape(side, side)
            cell = 100 / side
            box = (f'<span class="t2i-box" style="left:{col * cell:.2f}%;top:{row * cell:.2f}%;'
                   f'width:{cell:.2f}%;height:{cell:.2f}%"></span>')
            heat = frames.img_tag(frames.heat_uri(a, 0, float(a.max())),
                                  f"Step {s}: patch row {row + 1}, column {col + 1} attends most to "
                                  f"row {int(a.argmax()) // side + 1}, column {int(a.argmax()) % side + 1}",
                                  200, extra=f'data-pick="1" data-grid="{side}"')
            items[(i, p)] = f'<div class="t2i-pick">{heat}{box}</div>'

    axes = [frames.Axis("Step", 0, len(shown) - 1, len(shown) - 1, "of the run", values=tuple(int(s) for s in shown)),
            frames.Axis("Patch", 0, n - 1, n // 2 + side // 2, "or click the map")]
    final = frames.figure_tag(frames.rgb_uri(r.decoded[-1]), "final image", "The final image, for reference", 200)
    return f'<div class="t2i-row">{frames.scrubber(axes, items)}{final}</div>'


def summary(r: TextToImageResult) -> str:
    """One sentence on what the run drew and what it cost (Markdown)."""
    what = f"**{r.prompt!r}**" if r.prompt else "**no prompt** (unconditional: the model draws anything it learned)"
    neg = f", negative prompt {r.negative_prompt!r}" if r.negative_prompt else ""
    n = len(r.images)
    return (f"Drew {what}{neg}: {r.steps} steps, guidance {r.guidance:g}, "
            f"{'seed ' + str(r.seed) if n == 1 else f'seeds {r.seed} to {r.seed + n - 1}'}. "
            f"{r.steps} denoiser passes, each on a batch of {2 * n} (with and without the prompt), "
            f"then the decoder: {r.seconds:.1f} s.")


def step_data(r: TextToImageResult, step: object) -> dict:
    """One step of a run as data for API clients: images as PNG data URIs, the per-token
    cross-attention as nested lists (tokens x h x w), the latent, and the words the model read in place
    of what was typed (`read_as`: [typed, read] pairs) or never learned (`rare_words`)."""
    s = check_number(step, "Step", 0, r.steps, integer=True)
    k = min(s, r.steps - 1)
    return dict(step=s, steps=r.steps, tokens=r.tokens, decoded=frames.rgb_uri(r.decoded[s]),
                x0=frames.rgb_uri(r.image if s == r.steps else r.x0_decoded[s]),
                cross_attention=r.cross_attention[k].round(4).tolist(), latent=r.latents[s].round(3).tolist(),
                read_as=[list(pair) for pair in r.read_as], rare_words=list(r.rare_words))


def gallery(r: TextToImageResult) -> str:
    figs = "".join(frames.figure_tag(frames.rgb_uri(img), f"seed {r.seed + i}", f"Final image for seed {r.seed + i}", 110)
                   for i, img in enumerate(r.images))
    return f'<div class="t2i-row">{figs}</div>'


def swap_view(a: TextToImageResult, b: TextToImageResult) -> str:
    diff = np.abs(a.image - b.image).sum(axis=2)
    return ('<div class="t2i-row">'
            + frames.figure_tag(frames.rgb_uri(a.image), a.prompt or "(empty)", f"Final image for '{a.prompt}'", IMG)
            + frames.figure_tag(frames.rgb_uri(b.image), b.prompt or "(empty)", f"Final image for '{b.prompt}'", IMG)
            + frames.figure_tag(frames.heat_uri(diff, 0, 3), "where they differ",
                                f"Difference map: {float(diff.mean()):.2f} on average", IMG)
            + f'</div><p class="caption">Same seed ({a.seed}), same steps and guidance: only the prompt changed.</p>')


def interpolation_view(it: Interpolation) -> str:
    figs = "".join(frames.figure_tag(frames.rgb_uri(img), lab, f"Interpolation {w:.2f} between the two {it.kind}", 96)
                   for img, lab, w in zip(it.images, it.labels, it.weights))
    what = ("the starting noise moves along a great circle from one seed's to the other's; the prompt stays"
            if it.kind == "seeds" else "the prompt's token vectors move in a straight line; the seed stays")
    return f'<div class="t2i-row">{figs}</div><p class="caption">Left to right: {what}.</p>'


def costs_table(c: LatentCosts) -> str:
    rows = [
        ("numbers the denoiser works on per step", f"{c.latent_values:,} (latent {' x '.join(map(str, c.latent_shape))})",
         f"{c.pixel_values:,} (pixels {' x '.join(map(str, c.pixel_shape))})", f"{c.pixel_values / c.latent_values:.0f}x fewer"),
        ("one denoising pass (FLOPs)", f"{charts.plain(c.dit_flops)} (DiT, {c.dit_params:,} parameters)",
         f"{charts.plain(c.unet_flops)} (tiny-ddpm UNet on 28 x 28 x 1, {c.unet_params:,} parameters)",
         f"{c.unet_flops / c.dit_flops:.1f}x fewer"),
        ("decoding latents to pixels, once at the end (FLOPs)", f"{charts.plain(c.decoder_flops)} "
         f"(VAE decoder; the VAE has {c.vae_params:,} parameters)", "none", ""),
    ]
    body = "".join(f"<tr><th scope='row'>{html.escape(a)}</th><td>{b}</td><td>{c_}</td><td>{d}</td></tr>"
                   for a, b, c_, d in rows)
    return ("<table class='compare'><thead><tr><th scope='col'>what</th><th scope='col'>latent diffusion (this tab)</th>"
            "<th scope='col'>pixel diffusion</th><th scope='col'>latent vs pixel</th></tr></thead><tbody>" + body
            + "</tbody></table>")


def training_view(rows: list[tuple[str, np.ndarray]]) -> str:
    figs = "".join(frames.figure_tag(frames.rgb_uri(img), label, f"The same prompt and seed after {label}", 110)
                   for label, img in rows)
    return (f'<div class="t2i-row">{figs}</div><p class="caption">The same prompt and seed through the denoiser as it '
            "was during training: colours are learnt first, digit shapes later.</p>")
