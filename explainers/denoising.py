"""The reverse process, made visible: from pure noise to a digit, one denoising step at a time.

`denoise` runs a registry diffusion model once (via `models.diffusion.sample`, which uses the
diffusers schedulers' own `step()`) and keeps every intermediate for display: the noisy image
x_t, the noise the network predicts in it, and its guess of the clean image x0 at every step.
`prompt_to_label` turns a free-text prompt into one of the ten digit classes: the digit it names, or
else the class its minilm sentence embedding is clearly closest to (or None: no digit meant, so the
model draws unconditionally).

Display scaling (fixed, so pictures of different steps and runs compare):
- images (x_t, x0): model units [-1, 1] -> (x + 1) / 2, clipped to [0, 1];
- noise predictions: model units -> 0.5 + eps / (2 * NOISE_RANGE), clipped, so eps = 0 is mid
  grey and +-NOISE_RANGE (3 standard deviations of the training noise) are white and black.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import numpy as np
import torch

import models
from explainers.compute import compute_slot, holding_slot, sharing_cores
from explainers.denoise_batch import BATCHER, Job
from explainers.memory import memoize
from explainers.text_input import check_number, clean_text
from models.diffusion import SCHEDULERS, inference_unet, make_scheduler, precision, sample
from models.errors import InputError

NOISE_RANGE = 3.0  # noise values shown at +-3 sigma
STEP_LIMITS = {"ddim": (10, 250), "ddpm": (10, 1000)}  # DDPM with < 1000 steps strides the training steps
MAX_GUIDANCE = 10.0
MAX_BATCH = 8
MAX_SEED = 2**31 - 1
MAX_VALUES = 8_000_000  # per captured array: batch x (steps + 1) x H x W x C, keeps one result <= ~160 MB
MAX_PROMPT_CHARS = 300
PROMPT_EXAMPLE = "a handwritten 7"  # what an empty prompt that must name a digit is told to look like
DEFAULT_MODEL = "tiny-ddpm"  # the embedded pixel-space model the tab opens on

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Several phrasings per class; a prompt's similarity to a class is the best match among them.
CLASS_TEMPLATES = ("{w}", "the digit {d}", "the number {w}", "a handwritten {d}", "handwritten digit {w}",
                   "a drawing of the number {d}", "digit {w}")
# Calibrated on minilm: digit prompts score 0.64-1.0 ("a fat eight" 0.64, "write a 5" 0.77),
# off-topic ones 0.25-0.52 ("a photo of a cat" 0.35, "hello" 0.37, "draw me a sheep" 0.52, but
# with no margin). A class is chosen only if it is clearly the best: above the threshold AND
# ahead of the runner-up by the margin ("a handwritten number" is 0.78 for both 1 and 9).
THRESHOLD = 0.55
MARGIN = 0.05
# minilm tells numerals apart poorly ("a bold 3" is closest to 3 at only 0.52; "digit: 7" 0.89 against 0.85
# for 9), so a prompt that names exactly one digit, as a numeral or a word, gets that digit.
_DIGIT_NAMES = {**{str(d): d for d in range(10)}, **{w: d for d, w in enumerate(DIGIT_WORDS)}}

# The progress callback and "lookup only" flag travel beside the cache key, not in it.


@dataclass
class DenoiseResult:
    """One run of the reverse process. For batch == 1 the image arrays are (frames, H, W, C);
    for batch > 1 they carry a leading batch axis, (B, frames, H, W, C). Use `images(name, b)`
    to get one sample's frames either way. All images are float32 in [0, 1] (see module doc)."""

    model: str
    prompt: str
    scheduler: str
    steps: int
    guidance: float  # the guidance scale actually used (0 when no class was chosen)
    seed: int
    batch: int
    conditional: bool  # the model takes a class label (tiny-ddpm) or not (a Hub DDPM)
    label: int | None  # the digit drawn, or None: unconditional
    similarities: np.ndarray | None  # (10,) cosine prompt-vs-class; None for unconditional models
    timesteps: np.ndarray  # (steps,) training timestep t of each step, from T-1 down to ~0
    x_t: np.ndarray  # (steps + 1, H, W, C): x_T (pure noise) first, the final image last
    noise_pred: np.ndarray  # (steps, H, W, C): the (guided) noise predicted from x_t[i]
    x0_pred: np.ndarray  # (steps, H, W, C): the clean image implied by x_t[i] and noise_pred[i]
    noise_uncond: np.ndarray | None  # (steps, H, W, C) when guided (guidance not 0 or 1), else None
    noise_cond: np.ndarray | None
    x_t_std: np.ndarray  # (steps + 1,) std of x_t in model units: ~1 at x_T
    alphas_cumprod: np.ndarray  # (T,) alpha-bar of every training timestep
    seconds: float  # time spent sampling
    shared_with: int = 0  # other requests sampled in the same batch through the network (see DenoiseBatcher)
    precision: str = "float32"  # what the UNet computed in ("bfloat16" where the CPU has it natively)

    @property
    def guided(self) -> bool:
        return self.noise_uncond is not None

    def images(self, name: str, b: int = 0) -> np.ndarray:
        """Frames of sample b for "x_t", "noise_pred", "x0_pred", "noise_uncond" or "noise_cond"."""
        if not 0 <= b < self.batch:
            raise InputError(f"sample must be between 0 and {self.batch - 1}, got {b}.")
        arr = getattr(self, name)
        if arr is None:
            raise InputError(f"This run has no {name} (guidance was {self.guidance:g}).")
        return arr[b] if self.batch > 1 else arr


# ---- prompt -> class ------------------------------------------------------------------------

def _embed(texts: list[str]) -> torch.Tensor:
    """all-MiniLM-L6-v2 sentence embeddings: mean over tokens (mask-aware), then L2-normalised."""
    bundle = models.load("minilm")
    enc = bundle.tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=128)
    with torch.inference_mode():
        hidden = bundle.model(**enc).last_hidden_state  # (N, T, D)
    mask = enc["attention_mask"].unsqueeze(-1).float()  # (N, T, 1)
    mean = (hidden * mask).sum(1) / mask.sum(1)  # (N, D)
    return torch.nn.functional.normalize(mean, dim=-1)


@memoize(maxsize=1, gate=False)  # cheap (one minilm pass): never queues behind model runs
def _class_embeddings() -> torch.Tensor:
    texts = [t.format(d=d, w=w) for d, w in enumerate(DIGIT_WORDS) for t in CLASS_TEMPLATES]
    return _embed(texts).view(10, len(CLASS_TEMPLATES), -1)  # (10, phrasings, D)


def named_digit(prompt: str) -> int | None:
    """The digit a prompt names, as a numeral or a word ("a bold 3", "draw a seven"), when it names
    exactly one (a number such as 10 is not a digit; "a 3 or a 5" names two)."""
    found = {_DIGIT_NAMES[w] for w in re.findall(r"[a-z]+|[0-9]+", prompt.lower()) if w in _DIGIT_NAMES}
    return found.pop() if len(found) == 1 else None


def clear_match(similarities: np.ndarray) -> int | None:
    """The closest class when it is clearly the best: above THRESHOLD and MARGIN ahead of the runner-up."""
    order = np.argsort(-similarities)
    best, second = float(similarities[order[0]]), float(similarities[order[1]])
    return int(order[0]) if best >= THRESHOLD and best - second >= MARGIN else None


def label_reason(prompt: str, label: int | None, similarities: np.ndarray) -> str:
    """Why `prompt_to_label` chose `label` (or none), in words that fit after "chose 3: "."""
    closest = int(similarities.argmax())
    if label is None:
        return (f"no digit named, and none clearly closest: the closest, {closest}, scores "
                f"{similarities[closest]:.2f}, and a match needs {THRESHOLD} and a {MARGIN} lead over the runner-up")
    if named_digit(prompt) == label and clear_match(similarities) != label:
        also = "also the closest" if closest == label else f"minilm's closest is {closest}"
        return f"the prompt names {label} ({also}, similarity {similarities[label]:.2f})"
    return f"closest to '{DIGIT_WORDS[label]}' (similarity {similarities[label]:.2f})"


@memoize(maxsize=256, gate=False)  # one short minilm pass, before a run joins the batch queue
def prompt_to_label(prompt: str) -> tuple[int | None, np.ndarray]:
    """The digit a prompt asks for (or None when no class is meant) and the cosine similarity of the
    prompt to each class, (10,): the best over that class's phrasings. A prompt that names exactly one
    digit gets it; any other gets the closest class when that is clearly the best (`clear_match`)."""
    prompt = clean_text(prompt, "prompt", max_chars=MAX_PROMPT_CHARS, example=PROMPT_EXAMPLE).strip()
    e = _embed([prompt])[0]  # (D,)
    sims = (_class_embeddings() @ e).max(dim=1).values.numpy().astype(np.float32)  # (10,)
    named = named_digit(prompt)
    return (named if named is not None else clear_match(sims)), sims


# ---- the reverse process --------------------------------------------------------------------

def check_settings(steps, guidance, seed, scheduler, batch) -> tuple[int, float, int, str, int]:
    """Validated (steps, guidance, seed, scheduler, batch); a ValueError names the limit."""
    if scheduler not in SCHEDULERS:
        raise InputError(f"scheduler must be one of {', '.join(SCHEDULERS)}; got {str(scheduler)[:30]!r}.")
    lo, hi = STEP_LIMITS[scheduler]
    steps = check_number(steps, f"steps (with {scheduler})", lo, hi, integer=True)
    guidance = check_number(guidance, "guidance", 0, MAX_GUIDANCE)
    seed = check_number(seed, "seed", 0, MAX_SEED, integer=True)
    batch = check_number(batch, "batch", 1, MAX_BATCH, integer=True)
    return steps, guidance, seed, scheduler, batch


def to_image(x: torch.Tensor) -> np.ndarray:
    """(..., C, H, W) in model units -> (..., H, W, C) float32 in [0, 1]."""
    return ((x.float().clamp(-1, 1) + 1) / 2).movedim(-3, -1).numpy()


def to_noise_image(eps: torch.Tensor) -> np.ndarray:
    """(..., C, H, W) noise -> (..., H, W, C) in [0, 1]; 0 is mid grey, +-NOISE_RANGE the ends."""
    return (0.5 + eps.float() / (2 * NOISE_RANGE)).clamp(0, 1).movedim(-3, -1).numpy()


def _stack(frames: list[torch.Tensor], convert, batch: int) -> np.ndarray:
    arr = convert(torch.stack(frames, dim=1))  # (B, frames, H, W, C)
    return arr if batch > 1 else arr[0]


def denoise(prompt: str, steps: int = 50, guidance: float = 3.0, seed: int = 0, scheduler: str = "ddim",
            model: str = DEFAULT_MODEL, batch: int = 1, progress=None) -> DenoiseResult:
    """Run the reverse process for `prompt` and keep every step (cached: the same inputs are
    a lookup). progress: optional callback(step, steps) while sampling.

    steps: 10..250 with DDIM (deterministic, skips timesteps); 10..1000 with DDPM (1000 = every
    training step; fewer strides over them). guidance: 0 unconditional, 1 conditional, > 1
    pushed further from the unconditional prediction (classifier-free guidance).
    """
    return _denoise(*settings(prompt, steps, guidance, seed, scheduler, model, batch), progress=progress)


def settings(prompt, steps, guidance, seed, scheduler, model, batch) -> tuple:
    """Validated, normalised settings: the key a run is stored under."""
    spec = models.spec(model)
    if spec.family != "diffusion":
        raise InputError(f"{model!r} is a {spec.family} model; denoising needs a diffusion model.")
    steps, guidance, seed, scheduler, batch = check_settings(steps, guidance, seed, scheduler, batch)
    if not isinstance(prompt, str):
        raise InputError(f"The prompt must be a string, not {type(prompt).__name__}.")
    prompt = prompt.strip()  # an empty prompt is allowed: it asks for no class
    if prompt:
        prompt = clean_text(prompt, "prompt", max_chars=MAX_PROMPT_CHARS, example=PROMPT_EXAMPLE).strip()
    return prompt, steps, float(guidance), seed, scheduler, model, batch


def lookup(prompt: str, steps: int = 50, guidance: float = 3.0, seed: int = 0, scheduler: str = "ddim",
           model: str = DEFAULT_MODEL, batch: int = 1) -> DenoiseResult:
    """The stored result of `denoise` with these inputs; never runs a model (an InputError says
    to run it first when the result is not in memory)."""
    r = _denoise.peek(*settings(prompt, steps, guidance, seed, scheduler, model, batch))
    if r is None:
        raise InputError("No denoising run with these settings is in memory: press 'Denoise' first "
                         "(or the settings changed since the last run).")
    return r


# A page-default result is about 1 MB, one at the limits up to ~160 MB: the store's budget in bytes bounds
# them (the cap only keeps the count sane), so a class's own runs do not push the listed examples out.
# gate=False: the sampling below takes its compute slot itself (DenoiseBatcher), so a lookup or an
# identical waiting request holds none.
@memoize(maxsize=64, gate=False, unkeyed=("progress",))
def _denoise(prompt: str, steps: int, guidance: float, seed: int, scheduler: str, model: str,
             batch: int, progress=None) -> DenoiseResult:
    bundle = models.load(model)
    unet = inference_unet(bundle.model)
    cfg = unet.config
    values = batch * (steps + 1) * cfg.sample_size ** 2 * cfg.in_channels
    if values > MAX_VALUES:
        raise InputError(f"batch x (steps + 1) x image size is {values:,} values for {model}; the limit is "
                         f"{MAX_VALUES:,}. Use fewer steps or a smaller batch.")
    conditional = models.spec(model).conditional
    label, sims = prompt_to_label(prompt) if conditional and prompt else (None, None)
    labels = null_class = None
    if conditional:
        from models.digits import NULL_CLASS

        null_class = NULL_CLASS
        if label is None:  # no clear digit: the "no label" class, i.e. unconditional generation
            labels, guidance = torch.full((batch,), NULL_CLASS), 0.0
        else:
            labels = torch.full((batch,), label)
    else:
        guidance = 0.0  # nothing to guide towards
    if scheduler == "ddim" and batch == 1 and conditional and not holding_slot():
        job = BATCHER.run(Job((model, steps), int(labels[0]), float(guidance), seed, progress), bundle,
                           null_class)
        traj, seconds, shared_with = job.traj, job.seconds, job.shared_with
    else:  # on its own: DDPM draws new noise every step from one generator per run; several images,
        # an unconditional Hub model, or a call from inside another computation's slot
        with compute_slot():
            sched = make_scheduler(bundle.scheduler.config, scheduler)  # a fresh one: step() keeps state
            t0 = time.perf_counter()
            _, traj = sample(unet, sched, labels, steps, guidance, seed, null_class=null_class, capture=True,
                             batch=batch, progress=sharing_cores(progress))
            seconds, shared_with = time.perf_counter() - t0, 0
    x_t = torch.stack(traj.x_t, dim=1)  # (B, steps + 1, C, H, W)
    return DenoiseResult(
        model=model, prompt=prompt, scheduler=scheduler, steps=steps, guidance=guidance, seed=seed, batch=batch,
        conditional=conditional, label=label, similarities=sims, timesteps=np.array(traj.timesteps, dtype=np.int64),
        x_t=_stack(traj.x_t, to_image, batch),
        noise_pred=_stack(traj.noise_pred, to_noise_image, batch),
        x0_pred=_stack(traj.x0_pred, to_image, batch),
        noise_uncond=_stack(traj.noise_uncond, to_noise_image, batch) if traj.noise_uncond else None,
        noise_cond=_stack(traj.noise_cond, to_noise_image, batch) if traj.noise_cond else None,
        x_t_std=x_t.flatten(2).std(dim=2).mean(dim=0).numpy(),  # (steps + 1,)
        alphas_cumprod=bundle.scheduler.alphas_cumprod.numpy().astype(np.float64), seconds=seconds,
        shared_with=shared_with, precision=precision(bundle.model))


def step_info(result: DenoiseResult, step: int) -> dict:
    """What the step slider shows at `step` (0 = pure noise x_T, steps = the final image):
    the frame index of the prediction, its timestep t and alpha-bar_t."""
    if not 0 <= step <= result.steps:
        raise InputError(f"step must be between 0 and {result.steps}, got {step}.")
    i = min(step, result.steps - 1)  # the final image has no prediction of its own: show the last
    t = int(result.timesteps[i])
    ab = float(result.alphas_cumprod[t])
    return dict(step=step, pred_index=i, t=t, alpha_bar=ab, snr=ab / max(1e-12, 1 - ab), final=step == result.steps)
