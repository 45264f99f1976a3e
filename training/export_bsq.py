#!/usr/bin/env python3
"""Export a BSQ checkpoint (training/bsq.py) to codecs/<id>/: three ONNX graphs plus manifest.json.

    /usr/bin/python3 training/export_bsq.py --ckpt training/checkpoints/nc-bsq.pt --out codecs/nc-bsq

Stages (NCHW float32, dynamic height and width):
  bsq_enc  x [1,3,H,W] in [0,1]           -> v [1,d,H/16,W/16]   token bit i = (v_i >= 0)
  bsq_ctx  known [1,d,h,w] (+-1, 0 unknown) -> logits [1,d,h,w]   P(bit = 1) = sigmoid(logit)
  bsq_dec  signs [1,d,h,w] (+-1, 0 dropped) -> x_hat [1,3,16h,16w]

The graphs are checked against PyTorch with onnxruntime-node (training/check_onnx.mjs).
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bsq import PHASES, BSQCodec, ms_ssim  # noqa: E402
from model import checkpoint_weights  # noqa: E402
from export import OPSET, check_image, export_graph, finish_export, stage_files, write_f32  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PAD = 16


class DecStage(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, signs):
        return self.m.decode(signs)


@torch.no_grad()
def fp16_round(model, val_path, min_elements=64):
    """Round weights stored as float16 and report the PSNR / MS-SSIM change on validation crops."""
    def measure():
        if not val_path or not os.path.exists(val_path):
            return None
        val = np.load(val_path)['val'][:6, :256, :256]
        x = torch.from_numpy(val).permute(0, 3, 1, 2).float() / 255
        _, s, _ = model.quantize(model.encode(x))
        x_hat = model.decode(s).clamp(0, 1)
        x8 = (x_hat * 255).round() / 255
        mse = (x8 - x).pow(2).flatten(1).mean(1)
        return float((10 * torch.log10(1 / mse)).mean()), float(ms_ssim(x8, x).mean())
    before = measure()
    for _, p in model.named_parameters():
        if p.numel() >= min_elements:
            p.copy_(p.half().float())
    after = measure()
    if before is None:
        return None
    return {'psnrDeltaDb': round(after[0] - before[0], 4), 'msssimDelta': round(after[1] - before[1], 5),
            'measuredOn': 'validation split of the training photos, 6 crops of 256x256, all groups'}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ckpt', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--id', default=None)
    ap.add_argument('--no-check', action='store_true')
    ap.add_argument('--fp32', action='store_true')
    ap.add_argument('--weights', choices=['ema', 'raw'], default='ema',
                    help='the moving average of the weights when the checkpoint has one (default), or the raw weights')
    ap.add_argument('--val', default=os.path.join(HERE, 'cache', 'crops.npz'))
    args = ap.parse_args()
    codec_id = args.id or os.path.basename(os.path.normpath(args.out))
    ck = torch.load(args.ckpt, map_location='cpu')
    if ck.get('kind') != 'bsq':
        raise SystemExit(f'{args.ckpt} is not a BSQ checkpoint')
    model = BSQCodec(**ck['config'])
    model.load_state_dict(checkpoint_weights(ck, args.weights))
    model.eval()
    fp16_cost = None if args.fp32 else fp16_round(model, args.val)

    out = os.path.abspath(args.out)
    tmp = out + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    g, x = check_image()
    check = tempfile.mkdtemp(prefix='nc-check-')
    ref = {'stages': {}}
    with torch.no_grad():
        enc = torch.nn.Sequential(model.g_a, model.enc_proj)
        export_graph(enc, (x,), ['x'], ['v'], os.path.join(tmp, 'bsq_enc.onnx'))
        v = enc(x)
        ref['stages']['bsq_enc'] = {'inputs': {'x': write_f32(check, 'bsq_enc.x', x)}, 'outputs': {'v': write_f32(check, 'bsq_enc.v', v)}}
        s = torch.where(v >= 0, torch.ones_like(v), -torch.ones_like(v))
        known = s * (torch.rand(s.shape, generator=g) < 0.5).float()
        export_graph(model.ctx, (known,), ['known'], ['logits'], os.path.join(tmp, 'bsq_ctx.onnx'))
        lg = model.ctx(known)
        ref['stages']['bsq_ctx'] = {'inputs': {'known': write_f32(check, 'bsq_ctx.known', known)},
                                    'outputs': {'logits': write_f32(check, 'bsq_ctx.logits', lg)}}
        dec = DecStage(model)
        signs = s * model.group_masks(torch.tensor([model.G - 1]))
        export_graph(dec, (signs,), ['signs'], ['x_hat'], os.path.join(tmp, 'bsq_dec.onnx'))
        xh = dec(signs)
        ref['stages']['bsq_dec'] = {'inputs': {'signs': write_f32(check, 'bsq_dec.signs', signs)},
                                    'outputs': {'x_hat': write_f32(check, 'bsq_dec.x_hat', xh)}}
    with open(os.path.join(check, 'reference.json'), 'w') as f:
        json.dump(ref, f)
    files = stage_files(tmp, ['bsq_enc', 'bsq_ctx', 'bsq_dec'], args.fp32)
    model_hash = hashlib.sha256(''.join(f'{k}:{files[k]["sha256"]};' for k in sorted(files)).encode()).hexdigest()
    meta = ck.get('meta', {})
    cfg = model.config
    manifest = {
        'id': codec_id,
        'format': 1,
        'kind': 'bsq',
        'method': 'binary spherical quantization: d-bit tokens on the unit sphere, nested bit groups, '
                  'bit context model over earlier groups and spatial phases',
        'config': cfg,
        'bsq': {'d': model.d, 'groups': model.G, 'groupBits': model.gs,
                'phases': [list(p) for p in PHASES],
                'order': 'group by group; inside a group the 2x2 phases in the listed (row % 2, col % 2) order; '
                         'inside a phase channel by channel, positions in raster order',
                'context': 'known bits +-1 (unknown 0) -> logits; earlier groups everywhere and the current group at earlier phases are known'},
        'paddingFactor': PAD,
        'downsampling': {'y': 16},
        'colour': {'space': 'srgb', 'matrix': 'rgb', 'range': 'full', 'bitDepth': 8, 'layout': 'NCHW float32 in [0,1]'},
        'files': files,
        'modelHash': model_hash,
        'training': {**{k: meta.get(k) for k in ('step', 'cpu_hours', 'gpu_hours', 'wall_hours', 'samples')},
                     'weights': 'moving average' if args.weights == 'ema' and ck.get('ema') is not None else 'raw'},
        'init': meta.get('init'),
        'opset': OPSET,
        'weights': 'float32' if args.fp32 else 'float16 storage, float32 compute',
        'fp16Cost': fp16_cost,
    }
    finish_export(tmp, check, out, manifest, args.no_check)
    print(json.dumps({'out': out, 'modelHash': model_hash, 'check': manifest.get('exportCheck'), 'fp16Cost': fp16_cost}, indent=1))


if __name__ == '__main__':
    main()
