"""The start-up floor: a bare Gradio app that imports the same heavy libraries as the explainer."""

import sys

import diffusers  # noqa: F401
import gradio as gr
import matplotlib  # noqa: F401
import torch  # noqa: F401
import transformers  # noqa: F401

with gr.Blocks() as demo:
    gr.Markdown("bare")

if __name__ == "__main__":
    demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
