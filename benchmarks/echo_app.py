"""The web floor: a bare Gradio app (queue, 2 workers) that only echoes what it gets."""

import sys

import gradio as gr

with gr.Blocks() as demo:
    box = gr.Textbox()
    out = gr.Textbox()
    gr.Button("Echo").click(lambda x: x, box, out, api_name="echo")

if __name__ == "__main__":
    demo.queue(default_concurrency_limit=2, max_size=128)
    demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
