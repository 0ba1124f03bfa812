"""What every tab shares: the offline theme, CSS, and turning bad input into clear messages."""

from __future__ import annotations

import functools
import logging

import gradio as gr

import models

log = logging.getLogger("explainer")

# System fonts only: gradio's default theme would fetch Google Fonts, and classrooms are offline.
THEME = gr.themes.Soft(
    primary_hue="blue",
    font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "Helvetica", "Arial", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"],
)

CSS = """
.chips {display:flex;flex-wrap:wrap;gap:4px;margin:4px 0}
.tok {padding:2px 6px;border-radius:6px;font-family:ui-monospace,monospace;font-size:14px;color:#111}
.tok sub {color:#555;margin-left:3px;font-size:10px}
.caption {color:var(--body-text-color-subdued);font-size:13px;margin:4px 0}
.warn {color:#b45309;font-weight:600}
.explain {font-size:15px}
table.compare td, table.compare th {padding:4px 8px;border-bottom:1px solid #ddd;vertical-align:top}
"""


def friendly_errors(fn):
    """Bad input becomes a gr.Error with the explainer's message; the server stays up.
    Unexpected failures are logged and reported without a stack trace."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, TypeError) as e:
            raise gr.Error(str(e), print_exception=False) from None
        except KeyError as e:
            raise gr.Error(str(e.args[0]) if e.args else "Unknown key.", print_exception=False) from None
        except models.ModelUnavailable as e:
            raise gr.Error(str(e), print_exception=False) from None
        except MemoryError:
            raise gr.Error("That request needs more memory than this server has; try a smaller input.",
                           print_exception=False) from None
        except Exception as e:  # noqa: BLE001
            log.exception("unexpected error in %s", fn.__name__)
            raise gr.Error(f"Something went wrong ({type(e).__name__}). Try another input; the app is still running.",
                           print_exception=False) from None

    return wrapped


def model_choices(*families: str, check_network: bool = False) -> list[tuple[str, str]]:
    out = []
    for fam in families:
        for key in models.available(fam, check_network=check_network):
            tag = "embedded" if models.spec(key).source == "embedded" else "Hub"
            out.append((f"{key} ({fam}, {tag})", key))
    return out


def explain(md: str, open_: bool = True) -> None:
    with gr.Accordion("What am I looking at?", open=open_):
        gr.Markdown(md, elem_classes="explain")
