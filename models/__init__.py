"""Models: the registry (embedded + Hub), loading with a bounded cache, and the training
scripts of the embedded models. Never imports gradio.

    import models
    models.available("decoder")      # ['tiny-gpt', ...] keys loadable now
    bundle = models.load("minilm")   # Bundle(model, tokenizer), cached
"""

from models.catalog import (  # noqa: F401
    FAMILIES,
    REGISTRY,
    Bundle,
    ModelSpec,
    ModelUnavailable,
    available,
    checkpoints,
    load,
    spec,
)
