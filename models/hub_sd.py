"""Load a Stable Diffusion repo from the Hub (e.g. `segmind/tiny-sd`) into a `Bundle`.

A Stable Diffusion repo is five parts in subfolders: `unet/` (UNet2DConditionModel, the denoiser
that reads the prompt through cross-attention), `vae/` (AutoencoderKL, 512 x 512 x 3 pixels <->
4 x 64 x 64 latents), `text_encoder/` + `tokenizer/` (CLIP), `scheduler/`. Each part goes through
its own `from_pretrained` (never `trust_remote_code`), from the local Hugging Face cache or the Hub.

Only models.catalog imports this module (never the reverse): it returns the parts, the catalog
makes the Bundle.

Placement: on CUDA when present (a Space with a GPU; on ZeroGPU the `spaces` package makes
`cuda` available inside `spaces.GPU` functions), else the CPU. The embedded models never come
here: they stay on the CPU.

Attention recording (models.attention_capture) is installed only where the explainer reads it:
every cross-attention layer (`attn2`) and the self-attention layers (`attn1`) of the
lowest-resolution level. The other `attn1` layers keep diffusers' default processor, because
recording self-attention over 64 x 64 = 4,096 latent pixels would hold 4,096 x 4,096 numbers per
head per layer per step.
"""

from __future__ import annotations

import re

PREVIEW_DECODER = "madebyollin/taesd"  # TAESD: a tiny decoder of SD 1.x/2.x latents, for per-step previews


def device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def attention_level(name: str, n_blocks: int) -> int:
    """How many times the latent was halved where attention module `name` runs.

    down_blocks.i run at level i (before their downsampler), the mid block at the lowest level
    n_blocks - 1, up_blocks.i at level n_blocks - 1 - i (before their upsampler)."""
    m = re.match(r"(down_blocks|up_blocks)\.(\d+)\.", name)
    if name.startswith("mid_block."):
        return n_blocks - 1
    if m is None:
        raise ValueError(f"Unexpected attention module name {name!r}")
    i = int(m.group(2))
    return i if m.group(1) == "down_blocks" else n_blocks - 1 - i


def recorded_layers(unet) -> tuple[list[str], list[str]]:
    """(cross-attention module names, self-attention module names of the lowest-resolution level),
    in forward order (down blocks, mid block, up blocks)."""
    names = [k.removesuffix(".processor") for k in unet.attn_processors]
    order = {"down_blocks": 0, "mid_block": 1, "up_blocks": 2}
    names.sort(key=lambda k: (order[k.split(".")[0]], [int(x) for x in re.findall(r"\.(\d+)", k)]))
    n = len(unet.config.block_out_channels)
    cross = [k for k in names if k.endswith("attn2")]
    self_ = [k for k in names if k.endswith("attn1")]
    if self_:
        low = max(attention_level(k, n) for k in self_)
        self_ = [k for k in self_ if attention_level(k, n) == low]
    return cross, self_


def install_sd_recorders(unet) -> None:
    """Recording processors on the layers `recorded_layers` names, the default processor elsewhere."""
    from diffusers.models.attention_processor import AttnProcessor2_0

    from models.attention_capture import RecordingAttnProcessor

    cross, self_ = recorded_layers(unet)
    keep = set(cross) | set(self_)
    unet.set_attn_processor({k: RecordingAttnProcessor(k.removesuffix(".processor"))
                             if k.removesuffix(".processor") in keep else AttnProcessor2_0()
                             for k in unet.attn_processors})


def load_sd(location: str, hub: dict) -> dict:
    """The parts of a Stable Diffusion repo, as `Bundle` fields: model = the UNet, plus vae,
    text_encoder, tokenizer and a DDIM scheduler built from the repo's scheduler config (DDIM returns
    the predicted clean latent at every step). models.catalog wraps them in a Bundle and adds the
    preview decoder (`PREVIEW_DECODER`) when it can be loaded; this module never imports the catalog."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    dev = device()
    f32 = dict(torch_dtype=torch.float32)
    unet = UNet2DConditionModel.from_pretrained(location, subfolder="unet", **f32, **hub).eval().to(dev)
    install_sd_recorders(unet)
    vae = AutoencoderKL.from_pretrained(location, subfolder="vae", **f32, **hub).eval().to(dev)
    text_encoder = CLIPTextModel.from_pretrained(location, subfolder="text_encoder", dtype=torch.float32,
                                                 trust_remote_code=False, **hub).eval().to(dev)
    tokenizer = CLIPTokenizer.from_pretrained(location, subfolder="tokenizer", **hub)
    # clip_sample=False as StableDiffusionPipeline forces it: latents are not bounded by [-1, 1]
    scheduler = DDIMScheduler.from_config(DDIMScheduler.load_config(location, subfolder="scheduler", **hub),
                                          clip_sample=False)
    return dict(model=unet, tokenizer=tokenizer, scheduler=scheduler, vae=vae, text_encoder=text_encoder)


def load_preview_decoder(location: str, hub: dict):
    """TAESD (AutoencoderTiny): decodes SD latents roughly, ~100x cheaper than the VAE's decoder."""
    import torch
    from diffusers import AutoencoderTiny

    return AutoencoderTiny.from_pretrained(location, torch_dtype=torch.float32, **hub).eval().to(device())
