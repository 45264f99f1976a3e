#!/usr/bin/env python3
"""Temporal prior for P-frames on a frozen image codec (conditional coding in the DCVC spirit).

A P-frame is coded with the image codec's own transforms and hyperprior; what changes is the
entropy model of its latent. The decoder has the previous decoded frame x_prev; the encoder
sends block motion (16x16 blocks, integer pixels), both sides build the motion-compensated
prediction x_pred from x_prev, and y_pred = g_a(x_pred) * gain is the temporal context.
One net (`temporal`) predicts the Gaussian mean and scale of every latent element from the
hyperprior features of the current frame and y_pred:

    mean = y_pred + d_mean,  (d_mean, scale) = net([hyper, y_pred])

so where the prediction is good the symbols round(y - mean) are near zero with a small
scale, and where it fails (occlusion, new content) the hyperprior takes over. Rate is the
only loss: the transforms are frozen, so the P-frame decodes to g_s(y_hat * inv_gain) exactly
as an I-frame would at the same quality, and the saving is pure rate.

Training pairs come from still photos with synthetic camera motion: the previous frame is a
256x256 crop coded and decoded by the frozen intra codec at a random rate; the current frame
is a window of the same crop shifted by up to 12 pixels, with a brightness drift and sensor
noise; the prediction is the decoded previous frame shifted by the true motion plus an error
of up to 1 pixel (what block matching leaves). The latents are computed once (cached), then
the net trains on them. With --blocks the pairs are closer to what the runtime sees: the
current frame also zooms and turns a little, and the prediction is assembled block by block,
each 16x16 block moved by its own true motion rounded to half pixels plus its own matching
error, a few blocks missed by up to 8 pixels (block_prediction).

Usage (the shipped net; codecs/nc-video/README.md has the whole recipe):
  git show 8204661:training/checkpoints/nc-small.pt > /tmp/nc-small-48332.pt
  /usr/bin/python3 training/temporal.py --ckpt /tmp/nc-small-48332.pt --out training/checkpoints/nc-video-temporal.pt --threads 2
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import gaussian_likelihood, load_frozen  # noqa: E402
from train import load_crops  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
WIN = 128


class TemporalPrior(nn.Module):
    """[hyper (2M), y_pred (M)] -> mean, scale (M each); mean = y_pred + a learned shift."""

    def __init__(self, M, hidden=192):
        super().__init__()
        self.ctx = nn.Conv2d(M, M, 3, padding=1)
        self.net = nn.Sequential(
            nn.Conv2d(3 * M, hidden, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(hidden, 2 * M, 1))

    def forward(self, hyper, y_pred):
        d_mean, scale = self.net(torch.cat([hyper, self.ctx(y_pred)], 1)).chunk(2, 1)
        return y_pred + d_mean, F.softplus(scale)


def half_pixel_window(img, r2, c2, size=WIN):
    """The size x size window of an 8-bit-valued image at half-pixel position (r2 / 2, c2 / 2):
    half positions are the rounded mean of two or four pixels, as src/video/motion.ts makes them."""
    r0, c0 = r2 // 2, c2 // 2
    win = lambda dr, dc: img[:, :, r0 + dr:r0 + dr + size, c0 + dc:c0 + dc + size] * 255
    hr, hc = r2 % 2, c2 % 2
    if not hr and not hc:
        v = win(0, 0)
    elif not hr:
        v = torch.floor((win(0, 0) + win(0, 1) + 1) / 2)
    elif not hc:
        v = torch.floor((win(0, 0) + win(1, 0) + 1) / 2)
    else:
        v = torch.floor((win(0, 0) + win(0, 1) + win(1, 0) + win(1, 1) + 2) / 4)
    return v / 255


def affine_window(img, r, c, size, scale, angle):
    """The size x size window of img whose centre is the centre of the window at (r, c), seen
    through a zoom by 1 / scale and a rotation by angle (radians); bilinear, edges clamped."""
    side_h, side_w = img.shape[2], img.shape[3]
    t = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    v, u = torch.meshgrid(t, t, indexing='ij')
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    sy = r + (size - 1) / 2 + u * sin + v * cos
    sx = c + (size - 1) / 2 + u * cos - v * sin
    grid = torch.stack([(sx + 0.5) / side_w * 2 - 1, (sy + 0.5) / side_h * 2 - 1], -1)[None]
    return F.grid_sample(img, grid, mode='bilinear', padding_mode='border', align_corners=False)


def block_prediction(x_hat, r, c, size, scale, angle, rng, side):
    """What block matching gives for affine_window(x_hat-like source, r, c, size, scale, angle):
    every 16x16 block taken from x_hat at its own true displacement rounded to half pixels,
    then moved by what matching leaves (none for 60% of blocks, else up to a pixel), and 4%
    of the blocks missed (up to 8 pixels off: occlusions, repeated texture)."""
    out = torch.empty(1, 3, size, size)
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    hi = 2 * (side - 17)
    for i0 in range(0, size, 16):
        for j0 in range(0, size, 16):
            v, u = i0 + 7.5 - (size - 1) / 2, j0 + 7.5 - (size - 1) / 2
            sy = r + (size - 1) / 2 + u * sin + v * cos - 7.5
            sx = c + (size - 1) / 2 + u * cos - v * sin - 7.5
            e = rng.integers(-2, 3, 2) * (rng.random() < 0.4)
            if rng.random() < 0.04:
                e = rng.integers(-16, 17, 2)
            r2 = int(min(max(round(2 * sy) + e[0], 0), hi))
            c2 = int(min(max(round(2 * sx) + e[1], 0), hi))
            out[:, :, i0:i0 + 16, j0:j0 + 16] = half_pixel_window(x_hat, r2, c2, 16)
    return out


@torch.no_grad()
def make_pairs(model, crops, n, rng, batch=4, windows=4, intra_bits=False, win=WIN, blocks=False):
    """Cached (y, hyper, y_pred) for n synthetic frame pairs, `windows` per decoded crop;
    with intra_bits, also what the intra entropy model spends on each y (for the log).
    With blocks, the current frame also zooms (up to 2%) and turns (up to 0.6 degrees) and
    the prediction is made block by block (block_prediction); else it is one window moved
    by the true motion plus one error. Stored as float16."""
    K = len(model.lambdas)
    out = {'y': [], 'hyper': [], 'y_pred': [], 'intra_bits': []}
    side = crops.shape[1]
    made = 0
    while made < n:
        b = min(batch, -(-(n - made) // windows))
        idx = rng.integers(0, len(crops), b)
        prev = torch.from_numpy(crops[idx]).permute(0, 3, 1, 2).float() / 255
        q_prev = torch.from_numpy(rng.uniform(0, K - 1, b)).float()
        x_hat, _, _ = model(prev, q_prev)
        x_hat = (x_hat.clamp(0, 1) * 255).round() / 255
        cur, pred, qs = [], [], []
        for j in range(b):
            for _ in range(windows):
                d = rng.integers(-12, 13, 2)
                o = rng.integers(14, side - win - 14 + 1, 2)
                r, c = o + d
                if blocks:
                    zoom, angle = float(rng.uniform(0.98, 1.02)), float(rng.uniform(-0.01, 0.01))
                    x = affine_window(prev[j:j + 1], r, c, win, zoom, angle)
                    pred.append(block_prediction(x_hat[j:j + 1], r, c, win, zoom, angle, rng, side))
                else:
                    # what half-pixel block matching leaves: up to one pixel, in half pixels
                    err = rng.integers(-2, 3, 2) * (rng.random() < 0.6)
                    x = prev[j:j + 1, :, r:r + win, c:c + win]
                    pred.append(half_pixel_window(x_hat[j:j + 1], 2 * r + err[0], 2 * c + err[1], win))
                x = x * float(rng.uniform(0.97, 1.03)) + torch.randn_like(x) * float(rng.uniform(0, 0.01))
                cur.append((x.clamp(0, 1) * 255).round() / 255)
                qs.append(float(q_prev[j]))
        cur = torch.cat(cur)
        pred = torch.cat(pred)
        q = torch.tensor(qs)
        gain, _ = model.gains(q)
        y = model.g_a(cur) * gain
        hyper = model.h_s(torch.round(model.h_a(y)))
        y_pred = model.g_a(pred) * gain
        if intra_bits:
            _, y_lik, _ = model(cur, q)
            out['intra_bits'].append(-torch.log2(y_lik).flatten(1).sum(1))
        out['y'].append(y.half())
        out['hyper'].append(hyper.half())
        out['y_pred'].append(y_pred.half())
        made += len(qs)
    return {k: torch.cat(v)[:n] for k, v in out.items() if v}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ckpt', required=True, help='frozen image codec checkpoint (train.py format)')
    ap.add_argument('--out', required=True)
    ap.add_argument('--crops', default=os.path.join(HERE, 'cache', 'crops.npz'))
    # 2400 pairs overfit after ~800 steps; with 9600 the held-out bits fall until ~3000
    ap.add_argument('--pairs', type=int, default=9600)
    ap.add_argument('--windows', type=int, default=4, help='training pairs cut from each decoded crop')
    ap.add_argument('--steps', type=int, default=4000)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=17)
    ap.add_argument('--log', default=None)
    ap.add_argument('--win', type=int, default=WIN, help='side of the training windows in pixels (a multiple of 16)')
    ap.add_argument('--blocks', action='store_true', help='zooming, turning frames and block-by-block predictions (see make_pairs)')
    ap.add_argument('--init', default=None, help='start from this temporal checkpoint')
    ap.add_argument('--cache', default=None, help='keep the generated pairs in this file and reuse them when it matches the settings')
    ap.add_argument('--eval-every', type=int, default=100, help='steps between held-out evaluations')
    ap.add_argument('--smoke', action='store_true')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.smoke:
        args.pairs, args.steps, args.batch = 8, 4, 4
    model, ck = load_frozen(args.ckpt)
    if args.smoke and not os.path.exists(args.crops):
        import argparse as _a
        train, _ = load_crops(_a.Namespace(smoke=True, crops=args.crops, images=None, patch=192))
    else:
        train, _ = load_crops(argparse.Namespace(smoke=False, crops=args.crops, images=None, patch=256))
    log_path = args.log or os.path.join(HERE, 'logs', os.path.basename(args.out).replace('.pt', '.jsonl'))
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    logf = open(log_path, 'a')
    t0, c0 = time.time(), time.process_time()
    if args.win % 16 or not 32 <= args.win <= train.shape[1] - 56:
        raise SystemExit(f'--win {args.win}: a multiple of 16 from 32 to {train.shape[1] - 56}')
    split = max(1, args.pairs // 10)
    with open(args.ckpt, 'rb') as f:
        backbone_sha = hashlib.sha256(f.read()).hexdigest()
    key = {'backbone_sha256': backbone_sha, 'pairs': args.pairs, 'windows': args.windows, 'win': args.win, 'blocks': args.blocks, 'seed': args.seed}
    data = None
    if args.cache and os.path.exists(args.cache):
        cached = torch.load(args.cache)
        if cached.get('key') == key:
            data = cached['data']
            rng = np.random.default_rng([args.seed, 1])  # the sampling after generation
            print(f'pairs read from {args.cache}', flush=True)
    if data is None:
        data = make_pairs(model, train, args.pairs, rng, windows=args.windows, win=args.win, blocks=args.blocks)
        held_data = make_pairs(model, train, split, rng, windows=1, intra_bits=True, win=args.win, blocks=args.blocks)
        for k in ('y', 'hyper', 'y_pred'):
            data[k] = torch.cat([data[k], held_data[k]])
        data['intra_bits'] = torch.cat([torch.zeros(args.pairs), held_data['intra_bits']])
        if args.cache:
            torch.save({'key': key, 'data': data}, args.cache + '.tmp')
            os.replace(args.cache + '.tmp', args.cache)
            rng = np.random.default_rng([args.seed, 1])
    print(f'{args.pairs} training pairs, {split} held out, cached in {time.time() - t0:.0f} s', flush=True)
    M = model.M
    net = TemporalPrior(M)
    if args.init:
        net.load_state_dict({k: v.float() for k, v in torch.load(args.init, map_location='cpu')['temporal'].items()})
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    n = args.pairs
    npix = args.win * args.win

    def bits(sl):
        y, hyper, y_pred = (data[k][sl].float() for k in ('y', 'hyper', 'y_pred'))
        mean, scale = net(hyper, y_pred)
        noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5) if net.training else torch.round(y - mean) + mean
        return -torch.log2(gaussian_likelihood(noisy, mean, scale)).flatten(1).sum(1)

    def held_bpp():
        net.eval()
        with torch.no_grad():
            held = torch.arange(n, n + split)
            p_bpp = sum(float(bits(held[i:i + 64]).sum()) for i in range(0, split, 64)) / split / npix
            i_bpp = float(data['intra_bits'][held].mean() / npix)
        net.train()
        return p_bpp, i_bpp

    if args.init:
        p_bpp, i_bpp = held_bpp()
        rec = {'step': 0, 'init': args.init, 'val_p_bpp': p_bpp, 'val_intra_bpp': i_bpp, 'saving': 1 - p_bpp / i_bpp, 'win': args.win, 'blocks': args.blocks}
        logf.write(json.dumps(rec) + '\n')
        print(json.dumps(rec), flush=True)
    best = None
    for step in range(1, args.steps + 1):
        sl = torch.from_numpy(np.sort(rng.choice(n, args.batch, replace=False)))
        loss = bits(sl).mean() / npix
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step == int(args.steps * 0.7):
            for g in opt.param_groups:
                g['lr'] = args.lr / 4
        if step % args.eval_every == 0 or step == args.steps:
            p_bpp, i_bpp = held_bpp()
            rec = {'step': step, 'train_bpp': float(loss), 'val_p_bpp': p_bpp, 'val_intra_bpp': i_bpp, 'saving': 1 - p_bpp / i_bpp,
                   'cpu_seconds': round(time.process_time() - c0, 1)}
            if best is None or p_bpp < best[0]:
                best = (p_bpp, step, {k: v.detach().clone() for k, v in net.state_dict().items()})
            logf.write(json.dumps(rec) + '\n')
            logf.flush()
            print(json.dumps(rec), flush=True)
    # the held-out pairs pick the step kept (the net overfits a small cache)
    print(f'keeping step {best[1]}: held-out {best[0]:.4f} bpp', flush=True)
    torch.save({'temporal': {k: v.half() for k, v in best[2].items()},
                'meta': {'backbone_sha256': backbone_sha, 'backbone_step': ck['meta'].get('step'), 'steps': args.steps, 'kept_step': best[1],
                         'pairs': args.pairs, 'seed': args.seed, 'win': args.win, 'blocks': args.blocks, 'init': args.init,
                         'cpu_seconds': round(time.process_time() - c0, 1)}}, args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
