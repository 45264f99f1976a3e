#!/usr/bin/env python3
"""Fine-tunes an image codec's transforms for the trit-plane progressive mode.

progressive.py trains its heads on a frozen backbone whose latent was shaped for the
non-progressive entropy model (channel slices x checkerboard). A progressive decoder never
has exact neighbours, so the progressive mode codes y with the hyperprior alone
(`prog_param`): on the frozen nc-small latent that costs about 24% more y bits than the
context model at the finest step. Here g_a, g_s, h_a, h_s, the z prior, the gains and
`prog_param` are trained together on the progressive rate (the hyperprior-only Gaussian) plus
lambda * 255^2 * MSE, as DPICT trains its model, so the latent suits the entropy model the
progressive mode actually uses.

- The rate indexes drawn lean to the top (half the samples at the highest lambda, where a
  progressive file is written by default; the others uniform), so every quality keeps
  working.
- The context model's parameter nets keep training on the same latents, detached (they
  follow the latent without pulling it), so the exported codec still codes
  non-progressive files with its own context model.
- `--cut W:lambda,...` adds the files cut short to the objective. The top-rate objective alone
  shapes a latent that is good when complete, but a cut file is y known only to within 3^k
  per element; with --cut each step also adds, for the top-rate samples, the rate of such a
  cut (the Gaussian's mass over width-W intervals) plus lambda * 255^2 * its distortion
  (g_s of the conditional means), for one of the given W drawn at random, so the training
  weighs points along the progressive curve and not only its end. Each cut's loss is scaled
  by top rate / cut rate, as a BD-rate counts a saving relative to the rate where it is made.
- `--warmup` steps train only the heads on the frozen backbone first (the progressive head
  from --heads was fitted to another latent).
- Checkpoints, log, SIGTERM, resume and the weight average work as in train.py; `--split DIR`
  writes what progressive.py and export.py take: DIR/backbone.pt (train.py format, the
  averaged weights) and DIR/heads.pt (this run's prog_param, CRR and CDR from --heads).

Usage:
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 training/prog_backbone.py --id nc-prog-ft \\
      --backbone training/checkpoints/nc-small.pt --heads training/checkpoints/nc-prog-heads.pt --hours 2
  /usr/bin/python3 training/prog_backbone.py --id nc-prog-ft --split /tmp/prog-ft
"""
import argparse
import os
import sys
from typing import NamedTuple, Optional

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import ImageCodec, checkpoint_weights, gaussian_likelihood, ste_round  # noqa: E402
from progressive import ProgParam, cell, cond_mean, gauss_mass  # noqa: E402
from train import (lambda_of, load_crops, psnr8, random_crops, resume_or_start, run_loop, save_checkpoint, setup_run,  # noqa: E402
                   start_average, train_step, training_arguments)

HERE = os.path.dirname(os.path.abspath(__file__))


class Latent(NamedTuple):
    """y at one rate index, the progressive Gaussian's mean and scale, and the inverse gain
    that g_s's input is multiplied by."""
    y: torch.Tensor
    mean: torch.Tensor
    scale: torch.Tensor
    inv_gain: torch.Tensor

    def pick(self, idx):
        return Latent(*(t[idx] for t in self))


class ProgOut(NamedTuple):
    x_hat: Optional[torch.Tensor]
    y_lik: torch.Tensor
    z_lik: torch.Tensor
    ctx_lik: torch.Tensor
    lat: Latent


class ProgCodec(nn.Module):
    """An ImageCodec (`codec`) and the progressive mode's hyperprior-only head (`param`)."""

    def __init__(self, backbone, hidden=192):
        super().__init__()
        self.config = {'backbone': backbone, 'hidden': hidden}
        self.codec = ImageCodec(**backbone)
        self.param = ProgParam(self.codec.M, hidden)

    def forward(self, x, q, heads_only=False):
        """A ProgOut: the reconstruction (None with heads_only), progressive y likelihoods, z
        likelihoods, the context model's y likelihoods (on the detached latent) and the Latent
        that cut() and the curves start from."""
        c = self.codec
        if heads_only:
            with torch.no_grad():
                y, hyper, z_lik, inv_gain = c.latents(x, q)
        else:
            y, hyper, z_lik, inv_gain = c.latents(x, q)
        mean, scale = self.param(hyper)
        y_noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5) if self.training else torch.round(y - mean) + mean
        y_lik = gaussian_likelihood(y_noisy, mean, scale)
        _, ctx_lik = c.slice_context(y.detach(), hyper.detach())
        lat = Latent(y, mean, scale, inv_gain)
        if heads_only:
            return ProgOut(None, y_lik, z_lik, ctx_lik, lat)
        y_hat = ste_round(y - mean) + mean
        with c.transform_precision(x):
            x_hat = c.g_s(y_hat * inv_gain)
        return ProgOut(x_hat.float(), y_lik, z_lik, ctx_lik, lat)

    def cut(self, x, lat, W):
        """Rate and reconstruction of images x, with latent `lat` (a Latent of the same
        samples), when their file is cut where every element is known only to within W = 3^k
        (the last k trit-planes missing). Rate: -log2 of the Gaussian's mass over a width-W
        interval around the offset with uniform noise of that width (the step-1 relaxation, W
        times coarser). Reconstruction: the interval's conditional mean, as the decoder does,
        with a straight-through gradient to y."""
        y, mean, scale, inv_gain = lat
        v = y - mean
        v_noisy = v + torch.empty_like(v).uniform_(-W / 2, W / 2)
        lik = gauss_mass((v_noisy.abs() - W / 2) / scale, (v_noisy.abs() + W / 2) / scale).clamp_min(1e-9)
        with torch.no_grad():
            s = torch.round(v)
            r = cond_mean(*cell(s, W), scale)
        y_c = y + (mean + r - y).detach()
        with self.codec.transform_precision(x):
            return lik, self.codec.g_s(y_c * inv_gain).float()


def boundary_mass(lat, W):
    """Each element's probability of the width-W interval it is known to lie in when its file
    is cut at a plane boundary (the last log3(W) trit-planes missing; W = 1: the whole file):
    the Gaussian's mass over it, no CRR."""
    lo, hi = cell(torch.round(lat.y - lat.mean), W)
    return gauss_mass((lo - 0.5) / lat.scale, (hi + 0.5) / lat.scale).clamp_min(1e-9)


def bits(lik):
    return -torch.log2(lik).flatten(1).sum(1)


@torch.no_grad()
def validate(model, val, device, qs, batch=4):
    """Per rate index: progressive bpp (hyperprior-only y + z), the context model's bpp on the
    same latent, PSNR of the 8-bit reconstruction; real rounding, no noise."""
    model.eval()
    out = []
    for q in qs:
        acc = {'bpp_prog': [], 'bpp_ctx': [], 'psnr': []}
        for i in range(0, len(val), batch):
            x = torch.from_numpy(val[i:i + batch]).to(device).permute(0, 3, 1, 2).float() / 255
            x_hat, y_lik, z_lik, ctx_lik, lat = model(x, torch.full((x.shape[0],), float(q), device=device))
            npix = x.shape[2] * x.shape[3]
            acc['bpp_prog'] += ((bits(y_lik) + bits(z_lik)) / npix).tolist()
            acc['bpp_ctx'] += ((bits(ctx_lik) + bits(z_lik)) / npix).tolist()
            acc['psnr'] += psnr8(x_hat, x).tolist()
            if q == qs[0]:  # cut where the last trit-plane is missing: its rate without CRR, its PSNR without CDR
                acc.setdefault('bpp_cut1', []).extend(((bits(boundary_mass(lat, 3)) + bits(z_lik)) / npix).tolist())
                acc.setdefault('psnr_cut1', []).extend(psnr8(model.cut(x, lat, 3)[1], x).tolist())
        out.append({'q': q, **{k: float(np.mean(v)) for k, v in acc.items()}})
    model.train()
    return out


def fresh_model(args):
    ck = torch.load(args.backbone, map_location='cpu')
    model = ProgCodec(ck['config'])
    model.codec.load_state_dict(checkpoint_weights(ck))
    heads = torch.load(args.heads, map_location='cpu')['heads']
    model.param.load_state_dict({k: v.float() for k, v in heads['param'].items()})
    print(f'fresh fine-tune: backbone {args.backbone} (step {ck["meta"]["step"]}), prog_param from {args.heads}', flush=True)
    m = ck['meta']
    return model, {'backbone_step': m['step'], 'backbone_cpu_hours': m['cpu_hours'], 'backbone_gpu_hours': m.get('gpu_hours', 0.0),
                   'backbone_wall_hours': m.get('wall_hours', 0.0), 'backbone_samples': m.get('samples', 0)}


def split(args, ckpt_path):
    """Writes the averaged weights as a train.py backbone checkpoint and a heads checkpoint."""
    ck = torch.load(ckpt_path, map_location='cpu')
    weights = checkpoint_weights(ck)
    backbone = {k[len('codec.'):]: v.float() for k, v in weights.items() if k.startswith('codec.')}
    param = {k[len('param.'):]: v.half() for k, v in weights.items() if k.startswith('param.')}
    heads_path = args.heads or ck['meta'].get('heads_from')
    if not heads_path or not os.path.exists(heads_path):
        raise SystemExit(f'--split needs the heads whose CRR and CDR go with it: --heads PATH (the run started from {heads_path})')
    heads = torch.load(heads_path, map_location='cpu')
    os.makedirs(args.split, exist_ok=True)
    m = ck['meta']
    # the backbone's own training plus this fine-tune, and the fine-tune on its own
    meta = {'step': m['backbone_step'] + m['step'], 'cpu_hours': m['backbone_cpu_hours'] + m['cpu_hours'],
            'gpu_hours': m.get('backbone_gpu_hours', 0.0) + m['gpu_hours'],
            'wall_hours': m.get('backbone_wall_hours', 0.0) + m['wall_hours'],
            'samples': m.get('backbone_samples', 0) + m['samples'],
            'finetune': {'script': 'training/prog_backbone.py', 'id': args.id, 'from_step': m['backbone_step'],
                         'steps': m['step'], 'cpu_hours': m['cpu_hours'], 'gpu_hours': m['gpu_hours']}}
    out = {'config': ck['config']['backbone'], 'model': backbone, 'meta': meta}
    if ck.get('ema') is not None:
        out['ema'] = backbone  # these weights are the average: export.py labels them so
    torch.save(out, os.path.join(args.split, 'backbone.pt'))
    heads['heads']['param'] = param
    heads['meta'] = dict(heads['meta'], param_from=f'prog_backbone.py {args.id} step {ck["meta"]["step"]}')
    torch.save(heads, os.path.join(args.split, 'heads.pt'))
    print(f'wrote {args.split}/backbone.pt and heads.pt (step {ck["meta"]["step"]})', flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--id', default='nc-prog-ft', help='names the checkpoint and log')
    ap.add_argument('--backbone', default=None, help='image codec checkpoint to start from (train.py format)')
    ap.add_argument('--heads', default=None, help='progressive heads checkpoint (progressive.py) to start prog_param from')
    ap.add_argument('--split', default=None, help='write DIR/backbone.pt and DIR/heads.pt from the checkpoint, then exit')
    ap.add_argument('--warmup', type=int, default=300, help='steps that train only the heads, at the start')
    ap.add_argument('--top', type=float, default=0.5, help='share of samples at the highest rate index')
    ap.add_argument('--cut', default='',
                    help="also train the files cut short: 'W:lambda,...' (e.g. 3:0.03,9:0.005); each step the "
                         'top-rate samples add the rate-distortion loss of one of these cut points, where '
                         'every element is known to within W (3: the last trit-plane missing)')
    training_arguments(ap, batch=4, patch=256, lr=1e-4, threads=1, ema=0.995, seed=20261128)
    args = ap.parse_args()
    if args.smoke:
        args.steps = args.steps or 6
        args.warmup = min(args.warmup, 2)
        args.batch, args.patch, args.log_every, args.ckpt_minutes = 2, 64, 2, 1e9
    cuts = [(float(w), float(lam)) for w, lam in (c.split(':') for c in args.cut.split(',') if c)]
    device, ckpt_path, log_path, meta = setup_run(args)
    if args.split:
        split(args, ckpt_path)
        return
    if not os.path.exists(ckpt_path) and not (args.backbone and args.heads):
        raise SystemExit('a fresh fine-tune needs --backbone and --heads')
    origin = {}

    def fresh():
        model, info = fresh_model(args)
        origin.update(info, heads_from=os.path.abspath(args.heads))
        return model

    model, opt, saved_avg = resume_or_start(ckpt_path, lambda cfg: ProgCodec(**cfg), args, device, meta, fresh)
    meta.update(origin)
    ema = start_average(model, args.ema, saved_avg)
    model.codec.bf16_transforms = False
    train, val = load_crops(args)
    if args.smoke:
        val = val[:1]
    K = len(model.codec.lambdas)
    val_qs = [float(K - 1), 4.0] if not args.smoke else [float(K - 1)]
    rng = np.random.default_rng(args.seed + meta['step'])

    def step():
        x, p = random_crops(train, rng, args.batch, args.patch, device)
        q = torch.from_numpy(np.where(rng.random(args.batch) < args.top, K - 1, rng.uniform(0, K - 1, args.batch))).float().to(device)
        heads_only = meta['step'] < args.warmup
        x_hat, y_lik, z_lik, ctx_lik, lat = model(x, q, heads_only=heads_only)
        npix = p * p
        bpp_prog = (bits(y_lik) + bits(z_lik)) / npix
        bpp_ctx = bits(ctx_lik) / npix  # trains the context nets only (detached latent)
        if heads_only:
            mse = torch.zeros_like(bpp_prog)
            loss = (bpp_prog + bpp_ctx).mean()
        else:
            mse = (x_hat - x).pow(2).flatten(1).mean(1)
            loss = (bpp_prog + lambda_of(model.codec, q) * 255 ** 2 * mse + bpp_ctx).mean()
            pick = (q == K - 1).nonzero().flatten()
            if cuts and len(pick):
                W, lam_c = cuts[rng.integers(len(cuts))]
                lik_c, x_c = model.cut(x[pick], lat.pick(pick), W)
                mse_c = (x_c - x[pick]).pow(2).flatten(1).mean(1)
                bpp_c = (bits(lik_c) + bits(z_lik[pick])) / npix
                # BD-rate counts relative rate: a bit saved at the cut weighs top rate / cut rate
                weight = (bpp_prog[pick] / bpp_c).detach()
                loss = loss + (weight * (bpp_c + lam_c * 255 ** 2 * mse_c)).sum() / args.batch
        train_step(model, opt, loss, ema, meta, args.batch)
        return ({'loss': loss.item(), 'bpp_prog': bpp_prog.mean().item(), 'bpp_ctx': bpp_ctx.mean().item(),
                 'psnr': (10 * torch.log10(1 / mse.detach().clamp_min(1e-10))).mean().item()},
                {'heads_only': heads_only, 'lr': args.lr, 'cut': args.cut})

    model.train()
    run_loop(args, device, meta, log_path, model, ema, step, lambda: validate(model, val, device, val_qs),
             lambda: save_checkpoint(ckpt_path, model, opt, meta, ema, kind='prog'), first_checkpoint=meta['step'] == 0)


if __name__ == '__main__':
    main()
