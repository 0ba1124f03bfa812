"""diffusers' and transformers' classes, imported by one thread at a time.

Both libraries export their classes lazily: `from diffusers import DDPMScheduler` imports the class's
submodule on first use. Two threads doing that at once (the warm-up loading a model, a request building
its first scheduler) can meet in a circular import, and Python then hands one of them a half-initialised
module: the Noising tab answered `ImportError: cannot import name 'DDPMScheduler' from 'diffusers'` to
a request sent three seconds after start-up. Importing every class before the server starts would fix it
at the cost of 2.5 s of start-up (measured: 1.01x -> 1.46x the bare Gradio app), so the warm-up thread
imports them first (`import_all`), and a request calls `ready()`, which waits for that (or does it,
where nothing warms up); a request that early waits for its model anyway.

The run-time code keeps its `from diffusers import ...` lines where the classes are used; a test checks
that every name they import is listed here.
"""

from __future__ import annotations

import threading
from importlib import import_module

DIFFUSERS = ("AutoencoderKL", "AutoencoderTiny", "DDIMScheduler", "DDPMScheduler", "PixArtTransformer2DModel",
             "UNet2DConditionModel", "UNet2DModel")
TRANSFORMERS = ("AttentionInterface", "AutoConfig", "AutoImageProcessor", "AutoModel", "AutoModelForCausalLM",
                "AutoModelForMaskedLM", "AutoModelForSeq2SeqLM", "AutoTokenizer", "BertConfig", "CLIPTextModel",
                "CLIPTokenizer", "GPT2Config", "GPT2LMHeadModel", "LogitsProcessorList", "PreTrainedTokenizerFast",
                "TemperatureLogitsWarper", "TopKLogitsWarper", "TopPLogitsWarper", "ViTForImageClassification")
MODULES = ("diffusers.models.attention_processor", "transformers.models.gpt2.modeling_gpt2")

_lock = threading.Lock()
_done = threading.Event()


def import_all() -> None:
    """Import every listed class and module, once; other callers wait until it is done."""
    if _done.is_set():
        return
    with _lock:
        if _done.is_set():
            return
        # by name, not `import diffusers` at the top: the app does not import either library before
        # the page is served (importing diffusers alone pulls in torch._dynamo, 1.4 s)
        for library, names in (("diffusers", DIFFUSERS), ("transformers", TRANSFORMERS)):
            lib = import_module(library)
            for name in names:
                getattr(lib, name)
        for module in MODULES:
            import_module(module)
        _done.set()


def ready() -> bool:
    """Return once the libraries' classes are imported (importing them here if no one has); True if
    they already were."""
    already = _done.is_set()
    import_all()
    return already
