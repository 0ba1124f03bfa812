"""Which models the page may offer, and how to recognise a model that cannot be loaded.

The UI lists models through this module and never imports `models` itself (data flows
ui -> explainers -> models). Only models that can be loaded here and now are offered: the
embedded ones always, a Hub model only when it is in the local cache or the Hub is reachable.

    model_choices("encoder", "decoder")   # [("minilm (encoder, embedded)", "minilm"), ...]
"""

from __future__ import annotations

import logging

import models
from explainers.compute import COMPUTE_SLOTS, THREADS_PER_SLOT
from explainers.text_to_image import learned_vectors
from models.diffusion import inference_unet
from models.libraries import import_all as import_libraries
from models.libraries import ready as libraries_ready  # noqa: F401 - for the ui (ui.common.friendly_errors)

log = logging.getLogger("explainer")


def available_keys(family: str, check_network: bool = False) -> list[str]:
    """Registry keys of `family` that can be loaded now, embedded first."""
    return models.available(family, check_network=check_network)


def model_choices(*families: str, check_network: bool = False) -> list[tuple[str, str]]:
    """(label, key) pairs for a dropdown: every loadable model of the given families.

    check_network=False (the default, used while the page is built) never waits on the
    network: Hub models are listed only when already in the local cache."""
    out = []
    for fam in families:
        for key in available_keys(fam, check_network=check_network):
            tag = "embedded" if models.spec(key).source == "embedded" else "Hub"
            out.append((f"{key} ({fam}, {tag})", key))
    return out


def is_model_error(e: BaseException) -> bool:
    """True for 'this model cannot be loaded here and now' (e.g. a Hub model while offline):
    its message is written for the learner and can be shown as it is."""
    return isinstance(e, models.ModelUnavailable)


WARM_KEYS = ("minilm", "tiny-gpt", "tiny-ddpm", "tiny-t2i")  # the embedded models the first tabs use
# tiny-ddpm's fused graph is built per torch thread count (`models.diffusion.FastUNet.graph`): every padded shape
# for a run on one compute slot; for a run holding every slot (a student alone, a class's last batch) the shapes
# such a run has (1 or 2 pictures, or a class's batch of up to 4). The second set: about 100-130 MB resident.
WARM_ROWS_ON_EVERY_SLOT = (1, 2, 4, 8)


def warm(keys: tuple[str, ...] = WARM_KEYS) -> None:
    """Load the embedded models (and build tiny-ddpm's traced sampling UNet with its fused shapes, 2.5 s, and
    tiny-t2i's table of training words in minilm's space, 1.4 s) so the first click is fast. Best effort: a model that fails to
    load is logged and loaded again when asked for. First the libraries' lazily exported classes, in
    this thread alone (models/libraries.py: requests wait for them)."""
    try:
        import_libraries()
    except Exception:  # noqa: BLE001 - a request tries again (models.libraries.ready) and reports it
        log.exception("importing the libraries' classes failed")
    for key in keys:
        try:
            bundle = models.load(key)
            if key == "tiny-ddpm":
                unet = inference_unet(bundle.model)
                unet.warm_shapes((THREADS_PER_SLOT,))
                unet.warm_shapes((THREADS_PER_SLOT * COMPUTE_SLOTS,), rows=WARM_ROWS_ON_EVERY_SLOT)
            if key == "tiny-t2i":
                learned_vectors()  # its training words in minilm's space, for the note on unseen words
        except Exception:  # noqa: BLE001 - warming is best effort; the real request reports the error
            log.exception("warm-up of %s failed", key)
