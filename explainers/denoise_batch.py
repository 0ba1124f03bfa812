"""Several students' single-image DDIM runs through the UNet at once (`DenoiseBatcher`).

`explainers.denoising` sends each single-image DDIM request of a class-conditional model here; a
request that finds a compute slot free runs at once, and requests that arrive while the slots are busy
share the next batch (see the class doc for what was measured and tried)."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from explainers.compute import compute_slot, free_slots, sharing_cores
from models.diffusion import Trajectory, inference_unet, make_scheduler, sample


@dataclass(eq=False)
class Job:
    """One single-image DDIM request waiting to be sampled (alone or batched with others)."""

    group: tuple  # (model, steps): requests that can share a batch
    label: int
    guidance: float
    seed: int
    progress: Callable | None
    context: contextvars.Context = field(default_factory=contextvars.copy_context)  # its own progress bar
    done: threading.Event = field(default_factory=threading.Event)
    traj: Trajectory | None = None
    seconds: float = 0.0
    shared_with: int = 0
    error: BaseException | None = None


class DenoiseBatcher:
    """Different 50-step DDIM requests that arrive together run as one batch through the UNet.

    Measured with 1 torch thread (50 steps, guidance 3; `python -m benchmarks.batching`, 2026-12-06):
    1, 2, 4 and 8 requests in one batch take 0.35, 0.74, 1.29 and 2.35 s with the app's traced,
    fused bfloat16 UNet, i.e. 0.35, 0.37, 0.32 and 0.29 s per picture (unfused: 0.58, 0.44, 0.35,
    0.35; eager float32: 1.02, 0.78, 0.68, 0.68): a batch saves little per picture and makes each
    member wait for the whole batch, so batches stay small (MAX_SHARED). There is no waiting window:
    a request that finds a compute slot free runs at once; requests that arrive while the slots are
    busy queue here, and whoever gets the next slot takes up to MAX_SHARED of them (split evenly with
    any other slot that is free at that moment). Each request keeps its own seed (its own x_T), digit
    and guidance scale, so its images are the ones it would get alone (DDIM with eta 0 draws no other
    noise), up to float rounding (bfloat16 rounding where the CPU samples in it).

    Tried on 2026-12-06 and not kept, because a class's p95 did not move beyond the benchmark's noise
    (ten own prompts beside twenty other requests, `python -m benchmarks --only classroom`, p95 3.5-4.9 s
    whichever was used): continuous batching (a request joins a running batch at its next step, each
    row at its own timestep, as LLM servers do: every run then ends at the same late moment), batches
    of up to 8 split evenly over the slots, and no batching at all.
    """

    MAX_SHARED = 4

    def __init__(self):
        self._lock = threading.Lock()
        self._queue: dict[tuple, list[Job]] = {}

    def run(self, job: Job, bundle, null_class: int) -> Job:
        with self._lock:
            self._queue.setdefault(job.group, []).append(job)
        while not job.done.is_set():
            with self._lock:
                waiting = self._queue.get(job.group, [])
                if job not in waiting:  # another request's slot took it: wait for that batch
                    break
            with compute_slot(timeout=0.05) as got:
                if not got:
                    continue
                with self._lock:
                    waiting = self._queue.get(job.group, [])
                    if job not in waiting:
                        break
                    share = min(self.MAX_SHARED, max(1, -(-len(waiting) // (1 + free_slots()))))
                    take = [job] + [j for j in waiting if j is not job][:share - 1]
                    for j in take:
                        waiting.remove(j)
                self._sample(take, bundle, null_class)
        job.done.wait()
        if job.error is not None:
            raise job.error
        return job

    @staticmethod
    def _sample(jobs: list[Job], bundle, null_class: int) -> None:
        try:
            unet, (_, steps) = inference_unet(bundle.model), jobs[0].group
            cfg = unet.config
            labels = torch.tensor([j.label for j in jobs])
            noise = torch.cat([torch.randn((1, cfg.in_channels, cfg.sample_size, cfg.sample_size),
                                           generator=torch.Generator("cpu").manual_seed(j.seed)) for j in jobs])

            def progress(i, n):
                for j in jobs:
                    if j.progress is not None:
                        try:
                            j.context.run(j.progress, i, n)
                        except Exception:  # noqa: BLE001 - a closed page's progress bar must not stop the batch
                            pass

            guidance = jobs[0].guidance if len(jobs) == 1 else torch.tensor([j.guidance for j in jobs])
            sched = make_scheduler(bundle.scheduler.config, "ddim")
            t0 = time.perf_counter()
            _, traj = sample(unet, sched, labels, steps, guidance, jobs[0].seed, null_class=null_class, capture=True,
                             progress=sharing_cores(progress), noise=noise)
            seconds = time.perf_counter() - t0
            for k, j in enumerate(jobs):
                mine = lambda frames, k=k: [f[k:k + 1] for f in frames]  # noqa: E731 - this job's sample per step
                guided = j.guidance not in (0.0, 1.0)
                j.traj = Trajectory(timesteps=traj.timesteps, x_t=mine(traj.x_t), noise_pred=mine(traj.noise_pred),
                                    x0_pred=mine(traj.x0_pred), noise_uncond=mine(traj.noise_uncond) if guided else [],
                                    noise_cond=mine(traj.noise_cond) if guided else [])
                j.seconds, j.shared_with = seconds, len(jobs) - 1
        except BaseException as e:  # noqa: BLE001 - every request in the batch gets the error
            for j in jobs:
                j.error = e
        finally:
            for j in jobs:
                j.done.set()


BATCHER = DenoiseBatcher()  # the app's one batcher (explainers.denoising sends its single-image DDIM runs here)
