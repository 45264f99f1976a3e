#!/usr/bin/env python3
"""Times the codec's networks in PyTorch eager mode on one image, for bench/kodak.ts.

    /usr/bin/python3 bench/torch_speed.py --raw image.rgb --width 768 --height 512

The image comes as raw interleaved 8-bit RGB. One run = g_a, h_a, h_s, the parameter net of
every slice twice (anchor and non-anchor checkerboard passes) and g_s, under no_grad with
torch.set_num_threads(--threads). Entropy coding is not included (there is none here). After
one warm-up run, --runs runs are timed; the medians go to stdout as one JSON object:
per stage, the encoder's networks (g_a + h_a + h_s + params), the decoder's (h_s + params +
g_s) and all of them once each.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'training'))
from model import ImageCodec, checkerboard  # noqa: E402

PAD = 64


def load_model(path):
    ck = torch.load(path, map_location='cpu')
    model = ImageCodec(**ck['config'])
    model.load_state_dict(ck['model'])
    model.eval()
    return model, ck.get('meta', {})


def one_run(model, x, q):
    """Runs every network once in the order the codec does; returns ms per stage."""
    ms = {}

    def timed(name, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        ms[name] = ms.get(name, 0.0) + (time.perf_counter() - t0) * 1000
        return out

    gain, inv_gain = model.gains(q)
    y = timed('g_a', model.g_a, x) * gain
    z_hat = torch.round(timed('h_a', model.h_a, y))
    hyper = timed('h_s', model.h_s, z_hat)
    _, _, h, w = y.shape
    mask = checkerboard(h, w, y.device)
    C = model.C
    y_hats = []
    for s in range(model.S):
        ys = y[:, s * C:(s + 1) * C]
        prev = torch.cat(y_hats, 1) if s > 0 else None
        mean_a, _ = timed('params', model.params[s], hyper, prev, torch.zeros_like(ys))
        anchors = (torch.round(ys - mean_a) + mean_a) * mask
        mean_n, _ = timed('params', model.params[s], hyper, prev, anchors)
        mean = mean_a * mask + mean_n * (1 - mask)
        y_hats.append(torch.round(ys - mean) + mean)
    timed('g_s', model.g_s, torch.cat(y_hats, 1) * inv_gain)
    return ms


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ckpt', default=os.path.join(ROOT, 'training', 'checkpoints', 'nc-small.pt'))
    ap.add_argument('--raw', required=True, help='raw interleaved 8-bit RGB')
    ap.add_argument('--width', type=int, required=True)
    ap.add_argument('--height', type=int, required=True)
    ap.add_argument('--quality', type=float, default=50, help='1..100, as the codec maps it to a rate index')
    ap.add_argument('--runs', type=int, default=7)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    model, meta = load_model(args.ckpt)
    pixels = np.fromfile(args.raw, dtype=np.uint8).reshape(args.height, args.width, 3)
    x = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)
    ph = -args.height % PAD
    pw = -args.width % PAD
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode='replicate')
    K = len(model.config['lambdas'])
    q = torch.tensor([(args.quality - 1) / 99 * (K - 1)])

    runs = []
    with torch.no_grad():
        one_run(model, x, q)
        for _ in range(args.runs):
            runs.append(one_run(model, x, q))

    def med(key_fn):
        return statistics.median(key_fn(r) for r in runs)

    stages = ['g_a', 'h_a', 'h_s', 'params', 'g_s']
    result = {
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'runs': args.runs,
        'input': [args.width, args.height],
        'padded': [x.shape[3], x.shape[2]],
        'paramRuns': 2 * model.S,
        'checkpointStep': meta.get('step'),
        'stagesMs': {s: med(lambda r, s=s: r[s]) for s in stages},
        'encodeNetMs': med(lambda r: r['g_a'] + r['h_a'] + r['h_s'] + r['params']),
        'decodeNetMs': med(lambda r: r['h_s'] + r['params'] + r['g_s']),
        'allNetMs': med(lambda r: sum(r[s] for s in stages)),
        'maxRssKiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    json.dump(result, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
