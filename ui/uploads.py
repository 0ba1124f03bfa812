"""An image input that answers a file it cannot open with a sentence.

Plain gr.Image answers an upload it cannot open (a text file, a text file named .png, a decompression
bomb) with a long "Could not preprocess input component..." error that shows a server path. This
subclass's `preprocess` says what to upload instead.

Why a subclass and not a wrapper set on the instance: Gradio 6.31 rebuilds a component's per-session
instance from its constructor arguments whenever an event returns an update for it (`gr.skip()` is one:
the links' page-load event returns it for every input it does not set, and every Examples click returns
one), so an instance's wrapper was gone in every browser session and only API clients got the sentence.
Gradio writes a .pyi stub beside a module that subclasses a component; that is why this module holds
nothing else (the stub is git-ignored and outside ruff).
"""

from __future__ import annotations

import gradio as gr
from PIL import Image, UnidentifiedImageError

from explainers.noising import MAX_PIXELS as MAX_UPLOAD_PIXELS


class ReadableImage(gr.Image):
    """gr.Image whose preprocess refuses what it cannot open with a sentence naming the file."""

    is_template = True  # drawn by the page's own Image component (Gradio's mechanism for gr.Sketchpad & co.)

    def preprocess(self, payload):
        name = getattr(payload, "orig_name", None) or "The upload"
        try:
            value = super().preprocess(payload)
        except Image.DecompressionBombError:
            raise gr.Error(f"{name!r} is far larger than the limit of {MAX_UPLOAD_PIXELS / 1e6:.0f} megapixels; "
                           "please upload a smaller image.", print_exception=False) from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            raise gr.Error(f"{name!r} is not an image this app can read: upload a PNG, JPEG, GIF, BMP or WebP "
                           "picture.", print_exception=False) from None
        if isinstance(value, str):  # a file path: check it really is a picture, whatever its name says
            try:
                with Image.open(value) as im:
                    im.verify()
            except Image.DecompressionBombError:
                pass  # load_image refuses it with the size in the message
            except Exception:  # noqa: BLE001 - any failure to parse means: not a picture
                raise gr.Error(f"{name!r} is not an image this app can read (its contents are not a picture, "
                               "whatever its name says): upload a PNG, JPEG, GIF, BMP or WebP picture.",
                               print_exception=False) from None
        return value
