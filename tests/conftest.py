"""Shared fixtures: tiny config-built models for fast unit tests, and the app launched
in-process once per session for API and browser tests."""

from __future__ import annotations

import os
import socket

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the network
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    import app

    port = free_port()
    app.demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                    **app.launch_kwargs())
    yield f"http://127.0.0.1:{port}/"
    app.demo.close()


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def call(client, api_name: str, *args, timeout: float = 300):
    """Call an endpoint and wait for its result."""
    if not api_name.startswith("/"):
        api_name = "/" + api_name
    return client.submit(*args, api_name=api_name).result(timeout=timeout)


def open_app(page, url: str, timeout_ms: int = 180_000) -> None:
    """Open the app in a Playwright page: ready once its tabs are drawn. Then wait for the network
    to go quiet (the page's load events, deep links) where it does within 30 s. Waiting for
    'network idle' alone failed now and then on a busy machine: the queue's event stream can keep
    the network busy past any timeout."""
    try:
        page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    except PlaywrightError as e:  # once, on a machine loaded by a training run, Chromium aborted the
        if "net::ERR_ABORTED" not in str(e):  # navigation to a deep link (the page it left was still
            raise  # busy); the same link opened again loaded. Any other failure is the test's.
        page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    page.get_by_role("tab").first.wait_for(timeout=timeout_ms)
    try:
        page.wait_for_load_state("networkidle", timeout=30_000)
    except PlaywrightTimeout:
        pass  # the tabs are drawn; each test waits for the element it needs
