"""The reverse (denoising) loop of a DDPM, with classifier-free guidance and optional capture.

One function, `sample`, serves the app (which captures x_t, the predicted noise and the
predicted clean image at every step) and the quality check (which does not). It uses the
diffusers schedulers' own `step()`; nothing about the update rule is re-implemented here.
"""

from __future__ import annotations

import copy
import functools
import itertools
import logging
import os
import threading
import warnings
import weakref
from dataclasses import dataclass, field
from types import SimpleNamespace

import torch

from models.errors import InputError

SCHEDULERS = ("ddim", "ddpm")


@functools.lru_cache(maxsize=1)
def native_bf16() -> bool:
    """True where this CPU computes bfloat16 in hardware (Intel AMX or AVX512-BF16), so a UNet in
    bfloat16 samples faster (measured: 50 DDIM steps for 4 images 2.70 -> 1.85 s, 1 thread).
    Elsewhere bfloat16 is emulated and slower, so the app stays in float32. EXPLAINER_BF16=0 / 1
    overrides the check."""
    forced = os.environ.get("EXPLAINER_BF16", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(f.read().split())
    except OSError:
        return False
    return bool(flags & {"amx_bf16", "avx512_bf16"})


def jit_enabled() -> bool:
    """Trace the sampling UNet with TorchScript (EXPLAINER_JIT=0 turns it off)."""
    return os.environ.get("EXPLAINER_JIT", "1").strip() != "0" and hasattr(torch.jit, "trace")


def fusion_enabled() -> bool:
    """Let oneDNN Graph fuse the traced bfloat16 UNet's ops (EXPLAINER_FUSE=0 turns it off)."""
    return os.environ.get("EXPLAINER_FUSE", "1").strip() != "0" and hasattr(torch.jit, "enable_onednn_fusion")


def _set_fusion(on: bool) -> None:
    """torch's switch is global: set it to what the UNet about to run was traced with (the app's UNets
    all share one setting, so it changes only where tests mix float32 and bfloat16)."""
    if hasattr(torch.jit, "enable_onednn_fusion") and torch.jit.onednn_fusion_enabled() != on:
        torch.jit.enable_onednn_fusion(on)


# A fused graph is compiled per batch shape (0.15 s, 25-30 MB each; TorchScript keeps about a dozen): a call is
# padded to the next of these row counts (a guided picture: 2 rows; a class's batch of up to 4: at most 8).
FUSED_ROWS = (1, 2, 4, 8, 12, 16)


class _Predict(torch.nn.Module):
    """(x, t, labels) -> predicted noise in float32, the UNet computing in `dtype`: what is traced."""

    def __init__(self, unet, dtype):
        super().__init__()
        self.unet, self.dtype = unet, dtype

    def forward(self, x, t, labels):
        return self.unet(x.to(self.dtype), t, class_labels=labels, return_dict=False)[0].float()


class _PredictUnconditional(_Predict):
    def forward(self, x, t):
        return self.unet(x.to(self.dtype), t, return_dict=False)[0].float()


class FastUNet(torch.nn.Module):
    """The UNet the app samples with: the same weights, called the way the sampling loop calls them, and

    - traced and frozen with TorchScript, so a call runs without Python between its ops: 1.5x faster,
      and immune to a busy server (eager PyTorch gives up the GIL inside every op and waits for it back:
      beside a busy thread one call took 1,450 ms instead of 24 ms; traced: 37 ms). Its outputs are
      bit-identical to the eager model's (a test checks it over batch sizes and timesteps);
    - in bfloat16 where the CPU has it natively (`native_bf16`): 8 rows 62 -> 32 ms with both;
    - in bfloat16, with oneDNN Graph fusing its ops (convolution + bias + activation, normalisation)
      into fewer kernels (`fusion_enabled`). Measured with 1 thread, calls of 2 / 4 / 8 rows take
      7.9 / 13.8 / 23.9 ms instead of 12.9 / 18.2 / 30.0 ms (a single guided picture's 50 steps:
      0.58 -> 0.35 s). The fused kernels round differently, so the outputs stay within bfloat16
      rounding of the eager model's instead of bit-identical (a test checks both). The switch is
      torch's global one (`torch.jit.enable_onednn_fusion`): each traced UNet sets it to its own
      setting before it runs (this app traces no other model). Calls are padded to FUSED_ROWS shapes;
    - traced once per torch thread count (`graph`): a fused graph's kernels keep the thread count of
      their first calls. Given two threads, one built for one got nothing from the second and kept it
      busy (8 rows: 42.6 ms for 85.0 ms of CPU; its own 2-thread graph: 28.7 ms for 57.8 ms; 1 thread
      40.4 ms; `python -m benchmarks.batching --threads 1 2`), so a run that takes or gives back a
      compute slot switches graphs.

    `torch.jit.trace` is deprecated in torch 2.13 but works; if it ever fails, the eager model is
    used (same results, slower), and EXPLAINER_JIT=0 chooses that. FLOP counts, training and the
    pinned-values test use the float32 model itself."""

    def __init__(self, unet, bf16: bool, jit: bool, fuse: bool = False):
        super().__init__()
        self.config = unet.config
        self.dtype_name = "bfloat16" if bf16 else "float32"
        dtype = torch.bfloat16 if bf16 else torch.float32
        # nn.Module.to: diffusers' own .to() warns about modules to keep in float32 (this UNet has none)
        model = torch.nn.Module.to(copy.deepcopy(unet), dtype).eval() if bf16 else unet
        self.conditional = getattr(unet.config, "num_class_embeds", None) is not None
        self.eager = (_Predict if self.conditional else _PredictUnconditional)(model, dtype)
        self.traced = self.fused = False
        self._graphs: dict[int, torch.nn.Module] = {}  # `_threads_key()` -> the graph traced for it
        self._lock = threading.Lock()
        if jit:
            for fused in dict.fromkeys((fuse and bf16, False)):  # fused if asked; unfused if that fails
                if (graph := self._trace(fused)) is not None:
                    self.traced, self.fused = True, fused
                    self._graphs[self._threads_key()] = graph
                    break

    def _threads_key(self) -> int:  # unfused ops follow each call's thread count: one graph serves them all
        return torch.get_num_threads() if self.fused else 0

    def _trace(self, fused: bool):
        """The predictor traced, frozen and run twice with this thread's torch threads; None (logged) on failure."""
        cfg = self.config
        x = torch.zeros(2, cfg.in_channels, cfg.sample_size, cfg.sample_size)
        args = (x, torch.tensor(500)) + ((torch.tensor([0, 1]),) if self.conditional else ())
        try:
            with warnings.catch_warnings(), torch.inference_mode():
                # expected: the deprecation notice, the tracer's notes on diffusers' (static) shape checks
                warnings.simplefilter("ignore")
                _set_fusion(fused)
                graph = torch.jit.freeze(torch.jit.trace(self.eager, args, check_trace=False).eval())
                for _ in range(2):
                    graph(*args)
            return graph
        except Exception:  # noqa: BLE001 - any failure to trace: unfused, else the eager model (same results)
            logging.getLogger(__name__).warning("UNet not traced%s: %s", " with fusion" if fused else "",
                                                "trying without fusion" if fused else "sampling eagerly",
                                                exc_info=True)
            return None

    def graph(self) -> torch.nn.Module:
        """What computes a call on this thread: the graph traced for its torch thread count (fused: traced at
        the first call with that count, 0.6 s), or the eager predictor where tracing is off or failed."""
        if not self.traced:
            return self.eager
        threads = self._threads_key()
        if (graph := self._graphs.get(threads)) is None:
            with self._lock:  # traced once even when two runs need it first at the same moment
                if (graph := self._graphs.get(threads)) is None:
                    graph = self._graphs[threads] = self._trace(self.fused) or self.eager
        return graph

    def forward(self, x, t, class_labels=None):
        t = torch.as_tensor(t)
        n = x.shape[0]
        rows = next((r for r in FUSED_ROWS if r >= n), n) if self.fused else n
        if rows > n:  # pad with copies of the last row (their outputs are dropped)
            x = torch.cat([x, x[-1:].expand(rows - n, *x.shape[1:])])
            if class_labels is not None:
                class_labels = torch.cat([class_labels, class_labels[-1:].expand(rows - n)])
        predict = self.graph()
        if self.traced:  # a graph is optimised at its first calls per shape: with its own setting
            _set_fusion(self.fused)
        out = predict(x, t, class_labels) if self.conditional else predict(x, t)
        return SimpleNamespace(sample=out[:n])

    def warm_shapes(self, threads: tuple[int, ...] = (1,), rows: tuple[int, ...] = FUSED_ROWS) -> None:
        """Build the fused kernels of `rows` for each thread count in `threads` now, not in a request."""
        if not self.fused:
            return
        cfg, before = self.config, torch.get_num_threads()
        try:
            with torch.inference_mode():
                for n, r, _ in itertools.product(threads, rows, range(2)):
                    torch.set_num_threads(n)
                    self(torch.zeros(r, cfg.in_channels, cfg.sample_size, cfg.sample_size), torch.tensor(500),
                         torch.zeros(r, dtype=torch.long) if self.conditional else None)
        finally:
            torch.set_num_threads(before)


_FAST: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # float32 model -> {(bf16, jit, fuse): FastUNet}
_FAST_LOCK = threading.Lock()


def inference_unet(unet):
    """The UNet to sample with (`FastUNet`, made once per model and setting). On a GPU: the model."""
    if next(unet.parameters()).device.type != "cpu":
        return unet
    key = (native_bf16(), jit_enabled(), fusion_enabled())
    with _FAST_LOCK:  # made once even when two requests need it first at the same moment (0.6 s)
        made = _FAST.setdefault(unet, {})
        if key not in made:
            made[key] = FastUNet(unet, *key)
        return made[key]


def precision(unet) -> str:
    """"bfloat16" or "float32": what `inference_unet(unet)` computes in."""
    return getattr(inference_unet(unet), "dtype_name", "float32")


def make_scheduler(base_config: dict, name: str):
    """A DDIM (few-step, deterministic) or DDPM (stochastic, every training step) scheduler
    with the same noise schedule as the model was trained with."""
    from diffusers import DDIMScheduler, DDPMScheduler

    if name == "ddim":
        return DDIMScheduler.from_config(base_config)
    if name == "ddpm":
        return DDPMScheduler.from_config(base_config)
    raise InputError(f"scheduler must be one of {SCHEDULERS}, not {name!r}")


@dataclass
class Trajectory:
    timesteps: list[int] = field(default_factory=list)
    x_t: list[torch.Tensor] = field(default_factory=list)  # steps + 1 tensors (B, C, H, W)
    noise_pred: list[torch.Tensor] = field(default_factory=list)  # guided, one per step
    x0_pred: list[torch.Tensor] = field(default_factory=list)
    noise_uncond: list[torch.Tensor] = field(default_factory=list)  # only when guided
    noise_cond: list[torch.Tensor] = field(default_factory=list)


@torch.inference_mode()
def sample(unet, scheduler, labels: torch.Tensor | None, steps: int, guidance: float | torch.Tensor, seed: int,
           null_class: int | None = None, capture: bool = False, batch: int | None = None,
           progress=None, noise: torch.Tensor | None = None) -> tuple[torch.Tensor, Trajectory]:
    """Run the reverse process from pure noise. Returns the final images (B, C, H, W) in
    [-1, 1] and, if `capture`, every intermediate.

    labels: (B,) class ids for a class-conditional UNet, or None for an unconditional one.
    guidance: 0 = unconditional, 1 = conditional, > 1 = pushed further along (cond - uncond);
    a (B,) tensor gives each sample its own scale (several requests in one batch: both
    predictions are then made for every sample).
    noise: the starting x_T (B, C, H, W); by default drawn from `seed`.
    """
    cfg = unet.config
    n = len(labels) if labels is not None else (batch or 1)
    shape = (n, cfg.in_channels, cfg.sample_size, cfg.sample_size)
    gen = torch.Generator("cpu").manual_seed(int(seed))
    x = noise.clone() if noise is not None else torch.randn(shape, generator=gen)  # x_T ~ N(0, I)
    per_sample = torch.is_tensor(guidance)
    scheduler.set_timesteps(steps)
    traj = Trajectory()
    if capture:
        traj.x_t.append(x.clone())
    conditional = labels is not None and null_class is not None
    if conditional and per_sample:  # which samples need which prediction (guidance 1: no unconditional one)
        need_u, need_c = guidance != 1, guidance != 0
        n_u = int(need_u.sum())
        both_labels = torch.cat([torch.full_like(labels[need_u], null_class), labels[need_c]])
        g = guidance.view(-1, 1, 1, 1).to(torch.float32)
    for i, t in enumerate(scheduler.timesteps):
        if not conditional:
            eps = unet(x, t).sample
            eps_u = eps_c = None
        elif not per_sample and guidance == 0:
            eps_u = eps = unet(x, t, class_labels=torch.full_like(labels, null_class)).sample
            eps_c = None
        elif not per_sample and guidance == 1:
            eps_c = eps = unet(x, t, class_labels=labels).sample
            eps_u = None
        elif per_sample:  # one batched pass for the predictions each sample needs (none twice)
            out = unet(torch.cat([x[need_u], x[need_c]]), t, class_labels=both_labels).sample
            eps_u, eps_c = torch.empty_like(x), torch.empty_like(x)
            eps_u[need_u], eps_c[need_c] = out[:n_u], out[n_u:]
            eps_u[~need_u] = eps_c[~need_u]  # guidance 1: the conditional prediction alone
            eps_c[~need_c] = eps_u[~need_c]  # guidance 0: the unconditional one alone
            eps = eps_u + g * (eps_c - eps_u)
        else:  # one batched pass for both predictions
            both = unet(torch.cat([x, x]), t, class_labels=torch.cat([torch.full_like(labels, null_class), labels])).sample
            eps_u, eps_c = both.chunk(2)
            eps = eps_u + guidance * (eps_c - eps_u)
        kwargs = dict(generator=gen)
        if scheduler.__class__.__name__ == "DDIMScheduler":
            # with clip_sample=True, DDIM must recompute eps from the clipped x0 (else speckles)
            kwargs.update(eta=0.0, use_clipped_model_output=True)
        out = scheduler.step(eps, t, x, **kwargs)
        x = out.prev_sample
        if capture:
            traj.timesteps.append(int(t))
            traj.x_t.append(x.clone())
            traj.noise_pred.append(eps.clone())
            traj.x0_pred.append(out.pred_original_sample.clone())
            if eps_u is not None and eps_c is not None:
                traj.noise_uncond.append(eps_u.clone())
                traj.noise_cond.append(eps_c.clone())
        if progress is not None:
            progress(i + 1, steps)
    return x, traj
