#!/usr/bin/env bash
# Train the larger codec on one GPU for a fixed budget, from a folder of training photos.
#
#   OUT=/some/dir training/gpu/run.sh DATA_DIR [MINUTES] [CONFIG] [ID]
#
# DATA_DIR: photos (e.g. training/cache/gpu-set, made by training/gpu/make_set.py; the tree that
# travels, checkpoints and codecs/ included, must stay under 64 MiB).
# Resumes from training/checkpoints/<ID>.pt when it is in the tree. Writes $OUT/<ID>.pt
# (compact checkpoint) and $OUT/<ID>.jsonl (the log); export locally with training/export.py.
# Runs unchanged on CPU (tiny test: MINUTES=0.5 CONFIG=tiny), and on CUDA with bf16 autocast.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${1:?usage: run.sh DATA_DIR [MINUTES] [CONFIG] [ID]}
minutes=${2:-12}
config=${3:-large}
id=${4:-nc-large}
out=${OUT:?set OUT to the folder for the results}
py=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/run/checkpoints" "$work/run/logs" "$out"
[ -f "$here/checkpoints/$id.pt" ] && cp "$here/checkpoints/$id.pt" "$work/run/checkpoints/"
[ -f "$here/logs/$id.jsonl" ] && cp "$here/logs/$id.jsonl" "$work/run/logs/"

"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
"$py" "$here/make_crops.py" --src "$data" --out "$work/crops.npz" --per-image 48
threads=$(nproc)
extra=()
if "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  extra+=(--bf16 --batch 16 --patch 256)
else
  threads=$(( threads < 2 ? threads : 2 ))
  extra+=(--batch 4 --patch 128)
fi
hours=$("$py" -c "print($minutes / 60)")
"$py" "$here/train.py" --id "$id" --config "$config" --crops "$work/crops.npz" --out-dir "$work/run" \
  --hours "$hours" --threads "$threads" --ckpt-minutes 4 --log-every 100 "${extra[@]}"
cp "$work/run/checkpoints/$id.pt" "$out/$id.pt"
cp "$work/run/logs/$id.jsonl" "$out/$id.jsonl"
echo "wrote $out/$id.pt and $out/$id.jsonl"
