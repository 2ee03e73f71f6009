# CNN Explainer for Python: one app process (a replica) per container.
#   docker build -t cnn-explainer .
#   docker run -p 8501:8501 -e EXPLAINER_THREADS=2 cnn-explainer
# Health probe for a load balancer: GET /_stcore/health answers "ok".
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    # the parsed MNIST-5k digits and any downloaded datasets: mount a shared volume here
    EXPLAINER_CACHE_DIR=/var/cache/cnn-explainer \
    # fewer malloc arenas: many students' trainings in one process use less memory
    MALLOC_ARENA_MAX=2

# PyTorch's CPU build (~1 GB smaller); for NVIDIA GPUs build with
#   --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu124  (and run with --gpus all)
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY requirements.txt .
RUN pip install --index-url "$TORCH_INDEX" torch torchvision && pip install -r requirements.txt
COPY . .
# Parse the embedded digits once, at build time, so the first student does not wait.
RUN python -c "from explainer.data import load_dataset; load_dataset('mnist-5k')"

RUN useradd --create-home --uid 1000 explainer && chown -R explainer /app "$EXPLAINER_CACHE_DIR"
USER explainer
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"
CMD ["streamlit", "run", "streamlit_app.py", "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true"]
