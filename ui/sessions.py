"""Cheap per-visitor sessions: Gradio's SessionState builds its config copy lazily.

Gradio 6 creates one `SessionState` per visitor on their first event (the page load, or a
`gradio_client` call). Its constructor serialises the config of *every* block of the app
(`Block.get_config`, an `inspect.signature` per block) so that `gr.DeepLinkButton` could later
rebuild the page. This app has hundreds of blocks, so that costs ~0.1 s of the server's event
loop per visitor, during which no other request moves: measured with py-spy, it was 70% of the
server's time when 30 students pressed a button at once.

This app does not use Gradio's deep links (it has its own `?tab=` links, `ui/links.py`), so the
per-block configs are now computed only when something reads them: after an event Gradio still
records its outputs' values (one block each), and a full listing (`SessionState.components`)
still sees every block. `install()` is idempotent and leaves Gradio untouched if its
SessionState no longer has the shape this was written against.
"""

from __future__ import annotations

import inspect
import types

from gradio import state_holder


class LazyConfigs(dict):
    """`SessionState.config_values`, filled per block on first use instead of all at once."""

    def __init__(self, blocks_config, ids):
        super().__init__()
        self._blocks_config, self._ids = blocks_config, dict.fromkeys(ids)  # ordered, O(1) lookups

    def _fill(self, key):
        self[key] = self._blocks_config.config_for_block(key, [], self._blocks_config.blocks[key])
        return self[key]

    def __missing__(self, key):
        if key in self._ids:
            return self._fill(key)
        raise KeyError(key)

    def __contains__(self, key):  # what Gradio checks before it writes one block's value
        return dict.__contains__(self, key) or key in self._ids

    def _all(self):
        for key in self._ids:
            if not dict.__contains__(self, key) and key in self._blocks_config.blocks:
                self._fill(key)

    def _complete(method):  # noqa: N805 - a decorator used in the class body
        """A dict method that first fills every block (a full listing sees them all)."""

        def run(self, *args):
            self._all()
            return method(self, *args)

        return run

    items, values = _complete(dict.items), _complete(dict.values)
    __iter__, __len__ = _complete(dict.__iter__), _complete(dict.__len__)
    del _complete


_original_init = state_holder.SessionState.__init__


def _lazy_init(self, blocks) -> None:
    # The original constructor with no blocks to serialise, then the lazy mapping in its place.
    _original_init(self, types.SimpleNamespace(default_config=blocks.default_config, blocks={}))
    self.config_values = LazyConfigs(self.blocks_config, [k for k in self.blocks_config.blocks if k in blocks.blocks])


def _compatible() -> bool:
    try:
        src = inspect.getsource(_original_init)
    except (OSError, TypeError):
        return False
    return "config_values" in src and "blocks.default_config" in src


def install() -> bool:
    """Make new sessions cheap; returns whether the patch is active."""
    if state_holder.SessionState.__init__ is _lazy_init:
        return True
    if not _compatible():
        return False
    state_holder.SessionState.__init__ = _lazy_init
    return True
