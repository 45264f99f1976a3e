#!/usr/bin/env bash
# The whole chain on a fresh machine in about a minute: train a tiny model for a few steps,
# export it to ONNX (checked against PyTorch by onnxruntime-node), then encode and decode a
# test image with it through the TypeScript library (dist/, built by npm install).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
"$py" training/train.py --smoke --crops "$work/none.npz" --out-dir "$work/run"
"$py" training/export.py --ckpt "$work/run/checkpoints/smoke.pt" --out "$work/codec/smoke"
node training/smoke_decode.mjs "$work/codec/smoke" test/fixtures/photo-256x192.png
# the progressive heads on the same tiny backbone, exported with it, decoded from a prefix
"$py" training/progressive.py --smoke --ckpt "$work/run/checkpoints/smoke.pt" --out "$work/run/heads.pt" --log "$work/run/heads.jsonl"
"$py" training/export.py --ckpt "$work/run/checkpoints/smoke.pt" --prog "$work/run/heads.pt" --out "$work/codec/smoke-prog"
node training/smoke_decode.mjs "$work/codec/smoke-prog" test/fixtures/photo-256x192.png --progressive
# the backbone fine-tuned for the progressive mode, split, heads adapted, exported, decoded
"$py" training/prog_backbone.py --smoke --crops "$work/none.npz" --out-dir "$work/run" --id smoke-prog-ft --cut 3:0.03,9:0.005 \
  --backbone "$work/run/checkpoints/smoke.pt" --heads "$work/run/heads.pt"
"$py" training/prog_curve.py --smoke --crops "$work/none.npz" "$work/run/checkpoints/smoke-prog-ft.pt" "$work/run/checkpoints/smoke-prog-ft.pt"
"$py" training/prog_backbone.py --smoke --out-dir "$work/run" --id smoke-prog-ft --split "$work/run/ft"
"$py" training/progressive.py --smoke --ckpt "$work/run/ft/backbone.pt" --init "$work/run/ft/heads.pt" --stages crr,cdr \
  --out "$work/run/ft/heads2.pt" --log "$work/run/ft/heads2.jsonl"
"$py" training/export.py --ckpt "$work/run/ft/backbone.pt" --prog "$work/run/ft/heads2.pt" --out "$work/codec/smoke-prog-ft"
node training/smoke_decode.mjs "$work/codec/smoke-prog-ft" test/fixtures/photo-256x192.png --progressive
# the BSQ token codec: a few steps, exported, coded and decoded, tokens round-tripped
"$py" training/bsq.py --smoke --crops "$work/none.npz" --out-dir "$work/run"
"$py" training/export_bsq.py --ckpt "$work/run/checkpoints/smoke-bsq.pt" --out "$work/codec/smoke-bsq"
node training/smoke_decode.mjs "$work/codec/smoke-bsq" test/fixtures/photo-256x192.png --bsq
# the P-frame temporal prior on the same tiny backbone, exported with it (checked by onnxruntime-node)
"$py" training/temporal.py --smoke --crops "$work/none.npz" --ckpt "$work/run/checkpoints/smoke.pt" --out "$work/run/temporal.pt" --log "$work/run/temporal.jsonl"
"$py" training/export.py --ckpt "$work/run/checkpoints/smoke.pt" --temporal "$work/run/temporal.pt" --out "$work/codec/smoke-video"
# its int8 analysis transform for the prediction, then a P-frame coded and decoded with both
"$py" training/quantize_pred.py --smoke --crops "$work/none.npz" --ckpt "$work/run/checkpoints/smoke.pt" --codec "$work/codec/smoke-video"
node training/smoke_pframe.mjs "$work/codec/smoke-video" test/fixtures/photo-256x192.png
