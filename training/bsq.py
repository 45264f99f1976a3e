#!/usr/bin/env python3
"""Binary spherical quantization (BSQ) codec: tokens of d bits, nested groups, bit context model.

Model (Zhao, Xiong, Kraehenbuehl 2024, "Image and Video Tokenization with Binary Spherical
Quantization", on our convolutional transforms):

- g_a (the image codec's analysis transform, stride 16) -> enc_proj (3x3 conv, LeakyReLU,
  1x1 conv) -> v, d channels per latent position.
- u = v / |v| on the unit sphere; each coordinate is quantized to sign(u_i) / sqrt(d), with a
  straight-through gradient. A token is the d bits b_i = (u_i >= 0).
- The d bits form G nested groups of d/G bits. Training keeps the first k groups of each
  sample (k uniform in 1..G) and zeroes the rest, so one model decodes from any number of
  groups: G rates from one file, which can be cut at a group boundary.
- dec_proj (1x1 conv, then two 3x3 residual convs at the latent resolution) -> g_s.
- BSQ's entropy regularisation: the per-token entropy of the soft assignment is minimised and
  the codebook entropy (factorised over each group's 2^(d/G) codes) maximised, so codes are
  used evenly.
- ctx: a small conv net that predicts the probability of every bit from the bits already
  decoded (unknown bits are 0, known ones +-1). Bits are coded group by group; inside a group
  positions go in four spatial phases ((0,0), (1,1), (0,1), (1,0) of each 2x2 cell), so the
  context of a bit is every earlier group everywhere and its own group at earlier phases.

Loss: (1 - MS-SSIM) + mse_weight * MSE + ent_weight * entropy terms + rate_weight * bpp, where
bpp is the context model's code length of the kept bits (the encoder learns predictable
tokens); the context net itself is trained on the same code length.

Usage:
  OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 training/bsq.py --id nc-bsq --init training/checkpoints/nc-small.pt --hours 2
  /usr/bin/python3 training/bsq.py --smoke --out-dir /tmp/smoke
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Analysis, Synthesis, transform_precision  # noqa: E402
from train import (load_crops, random_crops, resume_or_start, run_loop, save_checkpoint, setup_run, start_average,  # noqa: E402
                   train_step, training_arguments, use_bf16)

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = {
    'small': dict(N=64, M=128, d=36, groups=6, hidden=128, ctx_hidden=96),
    'tiny': dict(N=8, M=16, d=12, groups=3, hidden=16, ctx_hidden=16),
}
# the four spatial phases of a 2x2 cell, in coding order (row, col)
PHASES = ((0, 0), (1, 1), (0, 1), (1, 0))


def phase_masks(h, w, device):
    """(4, 1, h, w) float masks, one per phase."""
    i = torch.arange(h, device=device).view(-1, 1) % 2
    j = torch.arange(w, device=device).view(1, -1) % 2
    return torch.stack([((i == r) & (j == c)).float() for r, c in PHASES]).view(4, 1, h, w)


class EncProj(nn.Module):
    def __init__(self, M, hidden, d):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(M, hidden, 3, padding=1), nn.LeakyReLU(inplace=True), nn.Conv2d(hidden, d, 1))

    def forward(self, y):
        return self.net(y)


class DecProj(nn.Module):
    def __init__(self, M, hidden, d):
        super().__init__()
        self.inp = nn.Conv2d(d, hidden, 1)
        self.res1 = nn.Sequential(nn.LeakyReLU(), nn.Conv2d(hidden, hidden, 3, padding=1), nn.LeakyReLU(),
                                  nn.Conv2d(hidden, hidden, 3, padding=1))
        self.res2 = nn.Sequential(nn.LeakyReLU(), nn.Conv2d(hidden, hidden, 3, padding=1), nn.LeakyReLU(),
                                  nn.Conv2d(hidden, hidden, 3, padding=1))
        self.out = nn.Sequential(nn.LeakyReLU(), nn.Conv2d(hidden, M, 1))

    def forward(self, t):
        h = self.inp(t)
        h = h + self.res1(h)
        h = h + self.res2(h)
        return self.out(h)


class BitContext(nn.Module):
    """Known bits (+-1, unknown 0), d channels -> a logit of P(bit = 1) for every bit."""

    def __init__(self, d, hidden):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(d, hidden, 5, padding=2), nn.LeakyReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(hidden, d, 1))

    def forward(self, known):
        return self.net(known)


class BSQCodec(nn.Module):
    def __init__(self, N=64, M=128, d=36, groups=6, hidden=128, ctx_hidden=96, tau=1.0):
        super().__init__()
        assert d % groups == 0
        self.config = dict(N=N, M=M, d=d, groups=groups, hidden=hidden, ctx_hidden=ctx_hidden, tau=tau)
        self.d, self.G, self.gs, self.tau = d, groups, d // groups, tau
        self.g_a = Analysis(N, M)
        self.g_s = Synthesis(N, M)
        self.enc_proj = EncProj(M, hidden, d)
        self.dec_proj = DecProj(M, hidden, d)
        self.ctx = BitContext(d, ctx_hidden)

    def encode(self, x):
        with transform_precision(self, x):
            v = self.g_a(x)
        return self.enc_proj(v.float())

    def decode(self, signs):
        """signs: +-1 for kept bits, 0 for dropped ones -> image."""
        v = self.dec_proj(signs / math.sqrt(self.d))
        with transform_precision(self, v):
            x_hat = self.g_s(v)
        return x_hat.float()

    def quantize(self, v):
        u = v / v.norm(dim=1, keepdim=True).clamp_min(1e-6)
        s = torch.where(u >= 0, torch.ones_like(u), -torch.ones_like(u))
        # straight-through on the sphere, in units of 1/sqrt(d)
        s_ste = u * math.sqrt(self.d) + (s - u * math.sqrt(self.d)).detach()
        return u, s, s_ste

    def entropy_terms(self, u):
        """BSQ regulariser: mean per-token entropy and codebook entropy (bits), per group."""
        B, d, h, w = u.shape
        p1 = torch.sigmoid(2 * u * math.sqrt(self.d) / self.tau)  # soft P(bit = 1)
        p1 = p1.permute(0, 2, 3, 1).reshape(-1, self.G, self.gs)
        eps = 1e-6
        per_token = -(p1 * (p1 + eps).log2() + (1 - p1) * (1 - p1 + eps).log2()).sum(-1).mean()
        # codebook entropy of each group: the 2^gs codes' probabilities averaged over the batch
        codes = torch.arange(2 ** self.gs, device=u.device)
        bits = ((codes.view(-1, 1) >> torch.arange(self.gs, device=u.device).view(1, -1)) & 1).float()  # (K, gs)
        logp = (p1 + eps).log().unsqueeze(2) * bits + (1 - p1 + eps).log().unsqueeze(2) * (1 - bits)  # (n, G, K, gs)
        q = logp.sum(-1).exp().mean(0)  # (G, K)
        codebook = -(q * (q + eps).log2()).sum(-1).mean()
        return per_token, codebook

    def group_masks(self, keep):
        """(B, d, 1, 1) 1 for the bits of the first keep[b] groups."""
        idx = torch.arange(self.d, device=keep.device).view(1, -1) // self.gs
        return (idx < keep.view(-1, 1)).float().view(-1, self.d, 1, 1)

    def context_bits(self, s_target, s_known, keep):
        """Code length (bits per sample) of the kept bits under the context model.

        All G * 4 (group, phase) steps are evaluated at once: each gets its own copy of the
        known bits (earlier groups everywhere, its group at earlier phases)."""
        B, d, h, w = s_target.shape
        ph = phase_masks(h, w, s_target.device)  # (4,1,h,w)
        gidx = torch.arange(d, device=s_target.device) // self.gs
        knowns, targets = [], []
        for g in range(self.G):
            before = (gidx < g).float().view(1, d, 1, 1)
            this = (gidx == g).float().view(1, d, 1, 1)
            for p in range(4):
                earlier = ph[:p].sum(0, keepdim=True) if p > 0 else torch.zeros_like(ph[:1])
                knowns.append(before + this * earlier)
                targets.append(this * ph[p:p + 1])
        known_m = torch.cat(knowns, 0)  # (S, d, h, w)
        target_m = torch.cat(targets, 0)
        S = known_m.shape[0]
        inp = (s_known.unsqueeze(0) * known_m.unsqueeze(1)).reshape(S * B, d, h, w)
        logits = self.ctx(inp).view(S, B, d, h, w)
        # s_target may carry the straight-through gradient: t = (s + 1) / 2
        t = (s_target + 1) / 2
        nll = F.softplus(-logits) * t + F.softplus(logits) * (1 - t)  # nats
        keep_m = self.group_masks(keep).unsqueeze(0)
        return (nll * target_m.unsqueeze(1) * keep_m).sum((0, 2, 3, 4)) / math.log(2)

    def forward(self, x, keep):
        v = self.encode(x)
        u, s, s_ste = self.quantize(v)
        m = self.group_masks(keep)
        x_hat = self.decode(s_ste * m)
        return x_hat, u, s, s_ste


def _gauss_win(device, size=11, sigma=1.5):
    g = torch.arange(size, device=device, dtype=torch.float32) - size // 2
    g = torch.exp(-g ** 2 / (2 * sigma ** 2))
    return (g / g.sum())


MS_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ms_ssim(x, y, data_range=1.0):
    """Per-sample MS-SSIM (Wang et al. 2003) of (B, 3, H, W) images; H, W >= 176."""
    win = _gauss_win(x.device)
    C = x.shape[1]
    wh = win.view(1, 1, -1, 1).repeat(C, 1, 1, 1)
    ww = win.view(1, 1, 1, -1).repeat(C, 1, 1, 1)

    def blur(t):
        return F.conv2d(F.conv2d(t, wh, groups=C), ww, groups=C)

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    vals = []
    for i, wgt in enumerate(MS_WEIGHTS):
        mx, my = blur(x), blur(y)
        sxx = blur(x * x) - mx * mx
        syy = blur(y * y) - my * my
        sxy = blur(x * y) - mx * my
        cs = (2 * sxy + c2) / (sxx + syy + c2)
        if i < len(MS_WEIGHTS) - 1:
            vals.append(F.relu(cs.flatten(1).mean(1)) ** wgt)
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
        else:
            l = (2 * mx * my + c1) / (mx * mx + my * my + c1)
            vals.append(F.relu((l * cs).flatten(1).mean(1)) ** wgt)
    return torch.stack(vals, 0).prod(0)


@torch.no_grad()
def validate(model, val, device, batch=2):
    """Per kept-group count: PSNR, MS-SSIM and context-model bits per pixel (raw bpp too)."""
    model.eval()
    # validated as exported: in fp32
    bf16, model.bf16_transforms = getattr(model, 'bf16_transforms', False), False
    out = []
    for k in range(1, model.G + 1):
        ps, ms, bpps = [], [], []
        for i in range(0, len(val), batch):
            x = torch.from_numpy(val[i:i + batch]).to(device).permute(0, 3, 1, 2).float() / 255
            keep = torch.full((x.shape[0],), k, device=device, dtype=torch.long)
            x_hat, u, s, _ = model(x, keep)
            x8 = (x_hat.clamp(0, 1) * 255).round() / 255
            mse = (x8 - x).pow(2).flatten(1).mean(1)
            ps += (10 * torch.log10(1 / mse.clamp_min(1e-10))).tolist()
            if x.shape[2] >= 176 and x.shape[3] >= 176:
                ms += ms_ssim(x8, x).tolist()
            bpps += (model.context_bits(s, s, keep) / (x.shape[2] * x.shape[3])).tolist()
        npix_tok = 256
        out.append({'groups': k, 'psnr': float(np.mean(ps)), 'msssim': float(np.mean(ms)) if ms else None,
                    'bpp': float(np.mean(bpps)), 'raw_bpp': k * model.gs / npix_tok})
    model.train()
    model.bf16_transforms = bf16
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--id', default='nc-bsq')
    ap.add_argument('--config', choices=sorted(CONFIGS), default=None)
    ap.add_argument('--init', default=None, help='image codec checkpoint whose g_a/g_s start the transforms')
    ap.add_argument('--mse-weight', type=float, default=20.0)
    ap.add_argument('--ent-weight', type=float, default=0.05)
    ap.add_argument('--rate-weight', type=float, default=0.2)
    ap.add_argument('--precision', choices=['auto', 'fp32', 'bf16'], default='auto',
                    help='bf16 autocast for g_a and g_s; auto: on CUDA and CPUs with native bf16')
    training_arguments(ap, batch=8, patch=192, lr=2e-4, log_every=25, seed=20261128)
    args = ap.parse_args()

    if args.smoke:
        args.config = args.config or 'tiny'
        args.steps = args.steps or 6
        args.batch, args.patch, args.log_every, args.ckpt_minutes = 2, 64, 2, 1e9
        args.id = args.id if args.id != 'nc-bsq' else 'smoke-bsq'
    device, ckpt_path, log_path, meta = setup_run(args)
    def fresh():
        model = BSQCodec(**CONFIGS[args.config or 'small'])
        if args.init:
            ck = torch.load(args.init, map_location='cpu')
            sd = ck['model']
            for part in ('g_a', 'g_s'):
                sub = {k[len(part) + 1:]: v for k, v in sd.items() if k.startswith(part + '.')}
                getattr(model, part).load_state_dict(sub)
            meta['init'] = {'from': os.path.basename(args.init), 'step': ck['meta'].get('step'),
                            'cpu_hours': ck['meta'].get('cpu_hours')}
            print(f'g_a/g_s from {args.init} (step {ck["meta"].get("step")})', flush=True)
        return model

    model, opt, saved_avg = resume_or_start(ckpt_path, lambda cfg: BSQCodec(**cfg), args, device, meta, fresh)

    ema = start_average(model, args.ema, saved_avg)

    train, val = load_crops(args)
    model.bf16_transforms = use_bf16(args.precision, device)
    print(f'transforms in {"bf16" if model.bf16_transforms else "fp32"}', flush=True)
    val = val[:, :256, :256] if val.shape[1] > 256 else val  # keep validation quick
    print(f'{len(train)} crops, {len(val)} validation images, device {device}, '
          f'{sum(p.numel() for p in model.parameters())} parameters', flush=True)
    rng = np.random.default_rng(args.seed + meta['step'])

    def step():
        x, p = random_crops(train, rng, args.batch, args.patch, device)
        keep = torch.from_numpy(rng.integers(1, model.G + 1, args.batch)).to(device)
        x_hat, u, s, s_ste = model(x, keep)
        mse = (x_hat - x).pow(2).flatten(1).mean(1)
        ms = ms_ssim(x_hat.clamp(0, 1), x) if p >= 176 else torch.ones_like(mse)
        per_tok, codebook = model.entropy_terms(u)
        npix = p * p
        # the context net learns from fixed bits; the encoder sees the code length through the STE
        ctx_bits = model.context_bits(s, s, keep)
        for q_ in model.ctx.parameters():
            q_.requires_grad_(False)
        enc_bits = model.context_bits(s_ste, s, keep)
        for q_ in model.ctx.parameters():
            q_.requires_grad_(True)
        bpp = ctx_bits / npix
        loss = ((1 - ms) + args.mse_weight * mse).mean() + args.ent_weight * (per_tok - codebook) \
            + bpp.mean() + args.rate_weight * (enc_bits / npix).mean()
        train_step(model, opt, loss, ema, meta, args.batch)
        raw = (keep.float() * model.gs).mean().item() / 256  # one token per 16x16 pixels
        return ({'loss': loss.item(), 'msssim': ms.mean().item(),
                 'psnr': (10 * torch.log10(1 / mse.detach().clamp_min(1e-10))).mean().item(),
                 'bpp': bpp.mean().item(), 'raw_bpp': raw, 'tok_entropy': per_tok.item(), 'codebook_entropy': codebook.item()},
                {'lr': args.lr, 'patch': p, 'batch': args.batch})

    model.train()
    run_loop(args, device, meta, log_path, model, ema, step, lambda: validate(model, val, device),
             lambda: save_checkpoint(ckpt_path, model, opt, meta, ema, kind='bsq'))


if __name__ == '__main__':
    main()
