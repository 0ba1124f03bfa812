# The app on a school's own server: CPU only, port 7860, no network needed at run time.
#
#   docker build -t t-vs-d .
#   docker run --rm -p 7860:7860 t-vs-d            # then open http://SERVER:7860
#
# The embedded models ship in assets/ and inside pip packages, so the image runs offline
# (HF_HUB_OFFLINE=1). To also bake Hub models into the image (needs the Hub at build time):
#   docker build --build-arg HUB_MODELS="gpt2 segmind/tiny-sd madebyollin/taesd" -t t-vs-d .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/opt/hf \
    MPLCONFIGDIR=/tmp/matplotlib \
    GRADIO_ANALYTICS_ENABLED=False

WORKDIR /app

# 1. CPU torch first, from PyTorch's CPU index: PyPI's Linux torch wheel is the CUDA build (several GB
#    with its nvidia-* dependencies). 2.13.0+cpu satisfies the `torch==2.13.0` pin of requirements.txt,
#    so step 2 keeps it and takes everything else from PyPI.
COPY requirements.txt .
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
 && pip install -r requirements.txt \
 && python -c "import torch; assert not torch.version.cuda, torch.__version__"

# 3. Optional Hub models, fetched once at build time into the image's Hugging Face cache.
ARG HUB_MODELS=""
RUN if [ -n "$HUB_MODELS" ]; then \
      python -c "import sys; from huggingface_hub import snapshot_download as d; [d(r) for r in sys.argv[1:]]" $HUB_MODELS; \
    fi

# 4. The app itself (embedded weights included), run as an unprivileged user.
COPY . .
RUN useradd --create-home --uid 1000 app && mkdir -p "$HF_HOME" && chown -R app /app "$HF_HOME"
USER app

ENV HF_HUB_OFFLINE=1 \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/', timeout=4)"
CMD ["python", "app.py"]
