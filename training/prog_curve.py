#!/usr/bin/env python3
"""Plane-boundary curve of progressive fine-tunes on the validation crops, and their BD-rates.

For each prog_backbone.py checkpoint (its averaged weights) at the top rate index: the file
cut where every element is known to within W = 81, 27, 9, 3, 1 (the last 4..0 trit-planes
missing). Rate: -log2 of each element's Gaussian mass over its interval, plus z; no CRR.
PSNR: g_s of the intervals' conditional means, rounded to 8 bits; no CDR. These are the
plain trit-plane curve's points at plane boundaries, cheap enough (about a minute) to compare
checkpoints before adapting heads and running the image benchmarks. The BD-rate of each
checkpoint against the first is over the PSNR range the curves share, log-rate interpolated
linearly in PSNR.

Usage:
  /usr/bin/python3 training/prog_curve.py training/checkpoints/nc-prog-ft.pt /tmp/other.pt [--json out.json]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import checkpoint_weights  # noqa: E402
from prog_backbone import ProgCodec, bits, boundary_mass  # noqa: E402
from train import load_crops, psnr8  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTHS = (81, 27, 9, 3, 1)


@torch.no_grad()
def curve(path, val, batch=4):
    ck = torch.load(path, map_location='cpu')
    model = ProgCodec(**ck['config'])
    model.load_state_dict(checkpoint_weights(ck))
    model.eval()
    K = len(model.codec.lambdas)
    acc = {W: ([], []) for W in WIDTHS}
    for i in range(0, len(val), batch):
        x = torch.from_numpy(val[i:i + batch]).permute(0, 3, 1, 2).float() / 255
        out = model(x, torch.full((x.shape[0],), float(K - 1)))
        npix = x.shape[2] * x.shape[3]
        for W in WIDTHS:
            acc[W][0].extend(((bits(boundary_mass(out.lat, W)) + bits(out.z_lik)) / npix).tolist())
            acc[W][1].extend(psnr8(model.cut(x, out.lat, W)[1], x).tolist())
    return {'checkpoint': path, 'step': ck['meta']['step'],
            'points': [{'W': W, 'bpp': float(np.mean(acc[W][0])), 'psnr': float(np.mean(acc[W][1]))} for W in WIDTHS]}


def bd_rate(ref, test, n=400):
    """Mean log-rate difference over the shared PSNR range, in percent."""
    def arr(c):
        pts = sorted(c['points'], key=lambda p: p['psnr'])
        return np.array([p['psnr'] for p in pts]), np.log([p['bpp'] for p in pts])
    (p1, r1), (p2, r2) = arr(ref), arr(test)
    lo, hi = max(p1[0], p2[0]), min(p1[-1], p2[-1])
    grid = np.linspace(lo, hi, n)
    return float((np.exp(np.mean(np.interp(grid, p2, r2) - np.interp(grid, p1, r1))) - 1) * 100), [float(lo), float(hi)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('checkpoints', nargs='+')
    ap.add_argument('--crops', default=os.path.join(HERE, 'cache', 'crops.npz'))
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--smoke', action='store_true', help='crops of the test fixtures when --crops is not there')
    ap.add_argument('--json', default=None, help='also write the curves and BD-rates here')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.images, args.patch = None, 64
    _, val = load_crops(args)
    curves = [curve(p, val) for p in args.checkpoints]
    for c in curves:
        c['bd_vs_first'] = bd_rate(curves[0], c) if c is not curves[0] else None
        pts = '  '.join(f"W={p['W']}: {p['bpp']:.4f} bpp {p['psnr']:.2f} dB" for p in c['points'])
        bd = '' if c['bd_vs_first'] is None else f"  BD vs first {c['bd_vs_first'][0]:+.2f}% over {c['bd_vs_first'][1][0]:.2f}-{c['bd_vs_first'][1][1]:.2f} dB"
        print(f"{c['checkpoint']} (step {c['step']}): {pts}{bd}", flush=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(curves, f, indent=1)


if __name__ == '__main__':
    main()
