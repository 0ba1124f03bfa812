"""Hardening: bad input on every endpoint gets a clear message (no stack trace) and the server
answers the next request; concurrent clients get the same results as serial ones; identical
requests are served from the cache; the app starts and serves with no network at all."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import call

pytestmark = pytest.mark.api
ROOT = Path(__file__).resolve().parent.parent
HUGE = "x" * 100_000
CONTROL = "\x00\x01\x02\x1b\x7f\u200e"

BAD = [  # (endpoint, args, what the message must mention)
    ("attention", ("", "minilm"), "empty"),
    ("attention", ("   \t  ", "minilm"), "empty"),
    ("attention", (HUGE, "minilm"), "10,000"),
    ("attention", (CONTROL, "minilm"), "empty"),
    ("attention", ("hello", "../../etc/passwd"), "choices|Unknown model"),
    ("similarity", ("a bank", "the bank", "river", "minilm"), "does not occur"),
    ("next_token", ("", "tiny-gpt", 1.0, 0, 1.0), "empty"),
    ("next_token", ("To be", "tiny-gpt", -1.0, 0, 1.0), "temperature|minimum"),
    ("next_token", ("To be", "gpt-17", 1.0, 0, 1.0), "choices|Unknown model"),
    ("generate", ("To be", "tiny-gpt", 10**6, 1.0, 0, 1.0, 0), "100|maximum"),
    ("generate", ("To be", "tiny-gpt", 0, 1.0, 0, 1.0, 0), "max_new_tokens|minimum|1"),
    ("generate", ("To be", "tiny-gpt", 10, 1.0, 0, 1.0, -5), "seed|minimum"),
    ("denoise", ("a 7", 10**6, 3.0, 0, "ddim", "tiny-ddpm", 1), "250|steps|maximum"),
    ("denoise", ("a 7", 0, 3.0, 0, "ddim", "tiny-ddpm", 1), "steps|minimum"),
    ("denoise", ("a 7", 50, -5.0, 0, "ddim", "tiny-ddpm", 1), "guidance|minimum"),
    ("denoise", ("a 7", 50, 3.0, 0, "euler-ancestral", "tiny-ddpm", 1), "scheduler|choices"),
    ("denoise", ("a 7", 50, 3.0, 0, "ddim", "tiny-ddpm", 999), "batch|maximum"),
    ("race", ("ROMEO:", "a 5", 10**6, 20, 0), "maximum|new tokens"),
    ("race", ("", "a 5", 10, 20, 0), "empty"),
]


@pytest.mark.parametrize("api,args,message", BAD, ids=[f"{a}-{i}" for i, (a, _, _) in enumerate(BAD)])
def test_bad_input_gets_a_clear_message(client, api, args, message):
    with pytest.raises(Exception) as err:
        call(client, api, *args)
    text = str(err.value)
    assert "Traceback" not in text and len(text) < 600
    import re

    assert re.search(message, text, flags=re.IGNORECASE), text
    # and the server answers the next request normally
    tokens = call(client, "attention", "Still standing.", "minilm")[0]
    assert "standing" in tokens


@pytest.mark.parametrize("api_name,data,message", [
    ("denoise", '["a 7", 50, NaN, 0, "ddim", "tiny-ddpm", 1]', "guidance"),
    ("race", '["ROMEO:", "a 5", 10, 20, NaN]', "seed|number"),
])
def test_nan_sent_as_raw_json_is_refused(app_url, client, api_name, data, message):
    """gradio_client refuses to send NaN; a raw HTTP client can, and still gets a clear message."""
    import re

    import httpx

    url = f"{app_url}gradio_api/call/{api_name}"
    event = httpx.post(url, content=f'{{"data": {data}}}', headers={"content-type": "application/json"}).json()
    with httpx.stream("GET", f"{url}/{event['event_id']}", timeout=300) as stream:
        body = stream.read().decode()
    assert "event: error" in body and re.search(message, body, flags=re.IGNORECASE) and "Traceback" not in body
    assert "standing" in call(client, "attention", "Still standing.", "minilm")[0]


def test_identical_requests_are_served_from_the_cache(client):
    """One forward pass and one rendering of the views, however many times it is asked."""
    from explainers import attention, attention_views

    text = "Thirty students click the same example."
    before, views_before, hits = attention.attend.misses, attention_views.attention_views.misses, \
        attention_views.attention_views.hits
    answers = {call(client, "attention", text, "minilm")[1] for _ in range(5)}
    assert len(answers) == 1 and "data-scrubber" in answers.pop()
    assert attention.attend.misses == before + 1
    assert attention_views.attention_views.misses == views_before + 1
    assert attention_views.attention_views.hits >= hits + 4


def test_twenty_parallel_clients_match_serial_results(app_url):
    from gradio_client import Client

    inputs = [(f"Client number {i % 4} reads this.", "minilm") for i in range(20)]
    serial = {x: Client(app_url, verbose=False).predict(*x, api_name="/attention")[0] for x in set(inputs)}

    def one(x):
        return x, Client(app_url, verbose=False).submit(*x, api_name="/attention").result(timeout=300)[0]

    with ThreadPoolExecutor(20) as ex:
        results = list(ex.map(one, inputs))
    assert len(results) == 20
    for x, tokens in results:
        assert tokens == serial[x]


@pytest.mark.skipif(shutil.which("unshare") is None or os.geteuid() != 0, reason="needs root and unshare")
def test_app_starts_and_serves_with_no_network():
    """In a fresh network namespace (only loopback exists) with HF_HUB_OFFLINE=1."""
    script = textwrap.dedent("""
        import socket
        try:
            socket.create_connection(("pypi.org", 443), timeout=2)
            raise SystemExit("network reachable: the test is not isolated")
        except OSError:
            pass
        import app
        from gradio_client import Client
        app.demo.launch(server_name="127.0.0.1", server_port=7899, prevent_thread_lock=True, quiet=True,
                        **app.launch_kwargs())
        c = Client("http://127.0.0.1:7899/", verbose=False)
        tokens = c.predict("I sat on the bank of the river.", "minilm", api_name="/attention")[0]
        assert "bank" in tokens, tokens
        import models
        listed = models.available("decoder", check_network=True)
        assert "tiny-gpt" in listed, listed
        from models.catalog import in_hf_cache
        offline_only = [k for k in listed if models.spec(k).source == "hub" and not in_hf_cache(models.spec(k).location)]
        assert offline_only == [], offline_only  # no network: a Hub model is listed only if it is cached
        print("SERVED-OFFLINE")
        app.demo.close()
    """)
    cmd = ["unshare", "-n", "sh", "-c", f"ip link set lo up && {sys.executable} -c '{script}'"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False")
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert "SERVED-OFFLINE" in out.stdout, out.stdout[-2000:] + out.stderr[-2000:]


def test_loading_the_embedded_models_prints_no_accelerate_notice():
    """Without `accelerate` (requirements.txt) diffusers prints "Cannot initialize model with low cpu
    memory usage because `accelerate` was not found" at every start; with it, loading is silent."""
    code = "import models\nfor key in ('tiny-ddpm', 'tiny-gpt', 'minilm'):\n    models.load(key)\nprint('LOADED')"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert "LOADED" in out.stdout, out.stderr[-2000:]
    assert "accelerate" not in out.stdout + out.stderr, (out.stdout + out.stderr)[-2000:]
