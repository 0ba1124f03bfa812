"""Models: the registry (embedded + Hub), loading with a bounded cache, the sampling loops,
attention capture and run-time data. The lowest floor: imports no other package of the project,
never gradio. The scripts that train the embedded models live in training/.

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
