"""Trit-plane progressive coding heads on a frozen image codec (DPICT + CTC style).

The progressive mode quantizes the gained latent y' = g_a(x) * gain(q_max) at step 1 around
a mean from the hyperprior alone, s = round(y' - mean), and codes the ternary digits of s
plane by plane. Three small heads are trained here on a frozen backbone checkpoint:

- prog_param: hyperprior features -> (mean, scale) for every channel. The slice/checkerboard
  context of the non-progressive mode needs fully decoded neighbours, which a progressive
  decoder never has, so the progressive entropy model conditions on the hyperprior only.
- prog_crr (context-based rate reduction): each plane is coded in passes. With --passes
  0.25 (the default; the decoder reads the fractions from the file) the first pass codes the
  quarter of the plane's elements with the highest expected distortion reduction per bit,
  the second the rest, so the order over the whole plane stays close to that ranking and a
  cut inside a plane loses little; --passes checkerboard is the older split, anchors
  ((row + col) even) then the others. Before each pass but the very first, from the decoded
  state of every element (the previous planes, plus what this plane's earlier passes
  refined), it predicts a corrected Gaussian (mean shift, scale factor) whose mass over the
  three thirds of each interval gives the next trit's probabilities.
- prog_cdr (context-based distortion reduction): from any partial state, corrects the
  reconstruction (the conditional mean of each element's interval) before g_s.

The state features (the same in TypeScript, src/quant/tritplane.ts) per element and channel:
  yhat  = mean + conditional mean of N(0, scale) on [lo - 0.5, hi + 0.5]
  lsc   = log(scale)
  rem   = log3(hi - lo + 1), the trit-planes still missing for the element
stacked as [yhat (M), lsc (M), rem (M)] -> 3M channels.

CRR outputs (d, g): the next trit's Gaussian is N(scale * d, scale * exp(clamp(g, -3, 3))).
CDR outputs c: yhat' = yhat + u * c with u = 0.5 * min(W, 2 * scale) for W = hi - lo + 1 > 1,
and u = 0 for finished elements (W = 1), so a complete file decodes exactly as coded.

Usage:
  python3 training/progressive.py --ckpt <backbone.pt> --out training/checkpoints/nc-prog-heads.pt
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
from model import SCALE_MIN, checkerboard, gaussian_likelihood, load_frozen  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2 * math.pi)
PROB_MIN = 2.0 ** -15


class ProgParam(nn.Module):
    """Hyperprior features (2M) -> mean, scale (M each)."""

    def __init__(self, M, hidden=192):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(2 * M, hidden, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(hidden, 2 * M, 1))

    def forward(self, hyper):
        mean, scale = self.net(hyper).chunk(2, 1)
        return mean, F.softplus(scale).clamp_min(SCALE_MIN)


class StateNet(nn.Module):
    """State features (3M) -> `outs` x M channels. `depth` 3x3 layers see the spatial
    neighbours (a (2 * depth + 1)^2 window), then two 1x1 layers. The last layer starts at
    zero, so an untrained head changes nothing."""

    def __init__(self, M, outs, hidden=160, depth=1, hyper=False):
        super().__init__()
        layers, cin = [], (5 if hyper else 3) * M
        for _ in range(depth):
            layers += [nn.Conv2d(cin, hidden, 3, padding=1), nn.LeakyReLU(inplace=True)]
            cin = hidden
        layers += [nn.Conv2d(hidden, hidden, 1), nn.LeakyReLU(inplace=True), nn.Conv2d(hidden, outs * M, 1)]
        self.net = nn.Sequential(*layers)
        self.arch = {'hidden': hidden, 'depth': depth, 'hyper': hyper}
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, feat, hyper=None):
        return self.net(feat if hyper is None else torch.cat([feat, hyper], 1))


def phi_cdf(u):
    return 0.5 * torch.erfc(-u / SQRT2)


def gauss_mass(lo_u, hi_u):
    """P(lo_u < U < hi_u) for a standard normal, accurate in both tails."""
    right = 0.5 * (torch.erfc(lo_u / SQRT2) - torch.erfc(hi_u / SQRT2))
    left = 0.5 * (torch.erfc(-hi_u / SQRT2) - torch.erfc(-lo_u / SQRT2))
    return torch.where(lo_u >= 0, right, left)


def cond_mean(lo, hi, scale):
    """Mean of N(0, scale) truncated to [lo - 0.5, hi + 0.5]; the nearer end when the mass underflows."""
    a = (lo - 0.5) / scale
    b = (hi + 0.5) / scale
    z = gauss_mass(a, b)
    pa = torch.exp(-0.5 * a * a) * INV_SQRT_2PI
    pb = torch.exp(-0.5 * b * b) * INV_SQRT_2PI
    cm = scale * (pa - pb) / z.clamp_min(1e-300)
    near = torch.where(lo > 0, lo, torch.where(hi < 0, hi, torch.zeros_like(lo)))
    ok = z > 1e-12
    return torch.where(ok, cm.clamp(lo - 0.5, hi + 0.5), near)


def planes_for(s):
    """Trit-planes needed so that [-(3^L - 1)/2, (3^L - 1)/2] holds every |s|."""
    m = int(s.abs().max().item())
    L = 1
    while (3 ** L - 1) // 2 < m:
        L += 1
    return L


def interval(s, L, k):
    """Interval [lo, hi] of s after k of L trit-planes."""
    half = (3 ** L - 1) // 2
    W = 3 ** (L - k)
    lo = torch.div(s + half, W, rounding_mode='floor') * W - half
    return lo, lo + W - 1, W


def cell(s, W):
    """[lo, hi] of the width-W interval (W = 3^k) holding s: the intervals are centred on the
    multiples of W, as `interval` gives them k planes before the end for any L."""
    lo = torch.floor((s + (W - 1) / 2) / W) * W - (W - 1) / 2
    return lo, lo + W - 1


def features(mean, scale, lo, hi):
    W = hi - lo + 1
    yhat = mean + cond_mean(lo, hi, scale)
    rem = torch.log(W) / math.log(3.0)
    return torch.cat([yhat, torch.log(scale), rem], 1), yhat


def trit_bits(s, lo, W, mu, sig):
    """Bits of the next trit of s (interval [lo, lo + W - 1]) under N(mu, sig), as coded:
    binary 'outer third?' then 'upper third?', each probability clamped to [2^-15, 1 - 2^-15]."""
    t = W // 3
    e0 = (lo - 0.5 - mu) / sig
    e1 = (lo + t - 0.5 - mu) / sig
    e2 = (lo + 2 * t - 0.5 - mu) / sig
    e3 = (lo + W - 0.5 - mu) / sig
    m0, m1, m2 = gauss_mass(e0, e1), gauss_mass(e1, e2), gauss_mass(e2, e3)
    tot = (m0 + m1 + m2).clamp_min(1e-30)
    p_out = ((m0 + m2) / tot).clamp(PROB_MIN, 1 - PROB_MIN)
    p_up = (m2 / (m0 + m2).clamp_min(1e-30)).clamp(PROB_MIN, 1 - PROB_MIN)
    digit = torch.div(s - lo, t, rounding_mode='floor')
    outer = digit != 1
    bits = -torch.log2(torch.where(outer, p_out, 1 - p_out))
    bits = bits - torch.where(outer, torch.log2(torch.where(digit == 2, p_up, 1 - p_up)), torch.zeros_like(p_up))
    return bits


def priority(lo, W, sig, w):
    """Expected distortion reduction per bit of each element's next trit under N(0, sig) on
    its interval [lo, lo + W - 1] (as src/quant/tritplane.ts ranks a plane, there with the
    coding tables' probabilities): w * sig^2 * (variance of the thirds' means) / (bits of the
    trit). Elements whose middle third holds all the mass rank last (0)."""
    t = W // 3
    e = [(lo - 0.5 + i * t) / sig for i in range(4)]
    m = [gauss_mass(e[i], e[i + 1]) for i in range(3)]
    tot = (m[0] + m[1] + m[2]).clamp_min(1e-30)
    f = [torch.exp(-0.5 * x * x) * INV_SQRT_2PI for x in e]
    s2 = sum((f[i] - f[i + 1]) ** 2 / m[i].clamp_min(1e-30) for i in range(3))
    mean = (f[0] - f[3]) / tot
    dD = (s2 / tot - mean * mean).clamp_min(0)
    p_out = ((m[0] + m[2]) / tot).clamp(PROB_MIN, 1 - PROB_MIN)
    p_up = (m[2] / (m[0] + m[2]).clamp_min(1e-30)).clamp(PROB_MIN, 1 - PROB_MIN)
    H = lambda p: -(p * torch.log2(p) + (1 - p) * torch.log2(1 - p))  # noqa: E731
    dR = (H(p_out) + p_out * H(p_up)).clamp_min(1e-9)
    prio = w * sig * sig * dD / dR
    free = (e[1] < -8.5) & (e[2] > 8.5)
    return torch.where(free, torch.zeros_like(prio), prio)


def top_fraction(prio, frac):
    """Mask of the round(frac * n) highest-priority elements of each sample."""
    B = prio.shape[0]
    flat = prio.reshape(B, -1)
    n = flat.shape[1]
    k = int(round(frac * n))
    mask = torch.zeros_like(flat, dtype=torch.bool)
    if k > 0:
        idx = flat.topk(min(k, n), dim=1).indices
        mask.scatter_(1, idx, True)
    return mask.view_as(prio)


def parse_passes(text):
    """'checkerboard', or cumulative fractions of a plane after each pass but the last ('0.25')."""
    if text == 'checkerboard':
        return 'checkerboard'
    fr = [float(v) for v in text.split(',') if v.strip()]
    if not fr or any(not 0 < a < 1 for a in fr) or fr != sorted(set(fr)):
        raise SystemExit(f'--passes needs increasing fractions in (0, 1), or checkerboard; got {text!r}')
    return fr


@torch.no_grad()
def precompute(model, crops, n, batch, rng):
    K = len(model.lambdas)
    gain, _ = model.gains(torch.tensor([float(K - 1)]))
    idx = rng.choice(len(crops), size=min(n, len(crops)), replace=False)
    ys, hypers = [], []
    for i in range(0, len(idx), batch):
        x = torch.from_numpy(crops[np.sort(idx[i:i + batch])]).permute(0, 3, 1, 2).float() / 255
        y = model.g_a(x) * gain
        hyper = model.h_s(torch.round(model.h_a(y)))
        ys.append(y.half())
        hypers.append(hyper.half())
    order = np.concatenate([np.sort(idx[i:i + batch]) for i in range(0, len(idx), batch)])
    return torch.cat(ys), torch.cat(hypers), order


def batches(n, batch, rng):
    while True:
        perm = rng.permutation(n)
        for i in range(0, n - batch + 1, batch):
            yield torch.from_numpy(np.sort(perm[i:i + batch]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ckpt', required=True, help='frozen backbone checkpoint (train.py format)')
    ap.add_argument('--out', required=True, help='heads checkpoint to write')
    ap.add_argument('--crops', default=os.path.join(HERE, 'cache', 'crops.npz'))
    ap.add_argument('--samples', type=int, default=1536, help='training crops whose latents are cached')
    ap.add_argument('--steps', type=int, nargs=3, default=[3000, 2000, 2000], metavar=('PARAM', 'CRR', 'CDR'))
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=5)
    ap.add_argument('--log', default=None, help='jsonl log (default: training/logs/<out name>.jsonl)')
    ap.add_argument('--smoke', action='store_true', help='a few steps on crops of the test fixtures (checks the chain, not quality)')
    ap.add_argument('--init', default=None, help='heads checkpoint to start from (continue training)')
    ap.add_argument('--stages', default='param,crr,cdr', help='heads to train; the others come from --init')
    ap.add_argument('--fresh', default='', help='heads to train from scratch even with --init')
    ap.add_argument('--passes', default='0.25',
                    help='how a plane is split into CRR passes: cumulative fractions by expected distortion '
                         'reduction per bit (e.g. 0.25 or 0.1,0.4), or checkerboard (the older format)')
    ap.add_argument('--crr-hidden', type=int, default=160, help='CRR width (a head trained from scratch)')
    ap.add_argument('--crr-depth', type=int, default=1, help='CRR 3x3 layers (a head trained from scratch)')
    ap.add_argument('--crr-hyper', action='store_true',
                    help='CRR also reads the hyperprior features (2M channels; training only: no runtime support yet)')
    ap.add_argument('--cdr-loss', choices=['latent', 'image'], default='latent',
                    help='CDR objective: squared error in y, or image MSE through the frozen g_s (128x128 windows)')
    args = ap.parse_args()
    passes = parse_passes(args.passes)
    n_passes = 2 if passes == 'checkerboard' else len(passes) + 1
    if args.smoke:
        args.steps, args.samples, args.batch = [4, 4, 4], 8, 2
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    model, ck = load_frozen(args.ckpt)
    M = model.M
    K = len(model.lambdas)
    _, inv_gain = model.gains(torch.tensor([float(K - 1)]))
    w = inv_gain.view(1, M, 1, 1) ** 2  # y' error -> y error
    with open(args.ckpt, 'rb') as f:
        backbone_sha = hashlib.sha256(f.read()).hexdigest()

    if args.smoke:
        from train import load_crops
        train, val = load_crops(argparse.Namespace(smoke=True, crops=os.path.join(HERE, 'none.npz'), images=None, patch=64))
        data = {'train': train, 'val': val[:1]}
    else:
        data = np.load(args.crops)
    t0 = time.time()
    Y, H, order = precompute(model, data['train'], args.samples, 32, rng)
    X = data['train'][order] if args.cdr_loss == 'image' else None
    val_x = torch.from_numpy(data['val']).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        vy = model.g_a(val_x) * model.gains(torch.tensor([float(K - 1)]))[0]
        vh = model.h_s(torch.round(model.h_a(vy)))
    print(f'cached {len(Y)} latents {tuple(Y.shape[1:])} in {time.time() - t0:.0f} s', flush=True)
    log_path = args.log or os.path.join(HERE, 'logs', os.path.splitext(os.path.basename(args.out))[0] + '.jsonl')
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    logf = open(log_path, 'a')

    def log(rec):
        rec['time'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        logf.write(json.dumps(rec) + '\n')
        logf.flush()
        print(json.dumps(rec), flush=True)

    # --- 1. hyperprior-only entropy model
    stages = set(args.stages.split(','))
    init_ck = torch.load(args.init, map_location='cpu') if args.init else None
    init = init_ck['heads'] if init_ck else None
    init_arch = init_ck['meta'].get('arch', {}) if init_ck else {}

    def from_init(key):
        return init is not None and key not in args.fresh.split(',')

    def arch(key, hidden, depth, hyper=False):
        """A head's shape: its --init's, unless it is trained from scratch."""
        if from_init(key):
            return init_arch.get(key, {'hidden': 160, 'depth': 1})
        return {'hidden': hidden, 'depth': depth, 'hyper': hyper}

    def start(mod, key):
        if from_init(key):
            mod.load_state_dict({n: t.float() for n, t in init[key].items()})
        return mod

    param = start(ProgParam(M), 'param')
    opt = torch.optim.Adam(param.parameters(), lr=args.lr)
    it = batches(len(Y), args.batch, rng)
    for step in range(args.steps[0] if 'param' in stages else 0):
        b = next(it)
        y, h = Y[b].float(), H[b].float()
        mean, scale = param(h)
        lik = gaussian_likelihood(y + torch.empty_like(y).uniform_(-0.5, 0.5), mean, scale)
        bits_per_elem = -torch.log2(lik).mean()
        opt.zero_grad()
        bits_per_elem.backward()
        opt.step()
        if step == int(args.steps[0] * 0.8):
            for g in opt.param_groups:
                g['lr'] = args.lr / 10
        if step % 250 == 0 or step == args.steps[0] - 1:
            with torch.no_grad():
                vm, vs = param(vh)
                vs_ = torch.round(vy - vm)
                vb = -torch.log2(gaussian_likelihood(vs_ + vm, vm, vs)).sum() / (val_x.shape[0] * val_x.shape[2] * val_x.shape[3])
            log({'head': 'param', 'step': step, 'train_bits_per_elem': float(bits_per_elem), 'val_y_bpp': float(vb)})
    param.eval()
    for p in param.parameters():
        p.requires_grad_(False)

    with torch.no_grad():
        MU, SC = [], []
        for i in range(0, len(Y), 64):
            m_, s_ = param(H[i:i + 64].float())
            MU.append(m_)
            SC.append(s_)
        MU, SC = torch.cat(MU), torch.cat(SC)
        S = torch.round(Y.float() - MU)
        vmu, vsc = param(vh)
        vS = torch.round(vy - vmu)

    def sample_state(b, partial):
        """A random decoding state for batch b: plane k for all, plane k+1 for a random part."""
        s = S[b]
        L = max(planes_for(s), 2)
        k = int(rng.integers(0 if partial else 1, L))
        lo, hi, W = interval(s, L, k)
        if partial:
            lo1, hi1, _ = interval(s, L, k + 1)
            # half the states sit on a plane boundary, as a decoder's do after every plane
            frac = float(rng.random()) if rng.random() < 0.5 else 0.0
            if passes == 'checkerboard':
                adv = torch.rand_like(s) < frac
            else:
                # a cut inside a plane has refined the elements that rank first
                adv = top_fraction(priority(lo.float(), W, SC[b], w), frac)
            lo = torch.where(adv, lo1, lo)
            hi = torch.where(adv, hi1, hi)
        return s, lo, hi, W

    # --- 2. CRR, on the state before each pass of a plane (the earlier planes, plus what this
    # plane's earlier passes refined); it predicts the next trit of the elements still to come
    def crr_state(s, L, k, pas, sc, frac=None):
        """The state before pass `pas` of plane k and the elements that pass codes; with
        `frac`, the state after the top `frac` of the plane, and every element left."""
        lo, hi, W = interval(s, L, k)
        if passes == 'checkerboard':
            done = checkerboard(s.shape[2], s.shape[3], s.device).bool().expand_as(s)
            target = done if pas == 0 else ~done
            if pas == 0:
                return lo, hi, W, target
        else:
            # the ranking at the plane's start (hyperprior Gaussian; the coder's also uses CRR)
            prio = priority(lo.float(), W, sc, w)
            if frac is not None:
                done = top_fraction(prio, frac)
                target = ~done
            else:
                done = top_fraction(prio, passes[pas - 1]) if pas > 0 else torch.zeros_like(s, dtype=torch.bool)
                upto = top_fraction(prio, passes[pas]) if pas < len(passes) else torch.ones_like(s, dtype=torch.bool)
                target = upto & ~done
        lo1, hi1, _ = interval(s, L, k + 1)
        lo = torch.where(done, lo1, lo)
        hi = torch.where(done, hi1, hi)
        return lo, hi, W, target

    def crr_bits(s, mu, sc, lo, hi, W, target, net, hyp=None):
        Wt = torch.full_like(sc, float(W))
        act = ((hi > lo) & target).float()
        if net is None:
            return trit_bits(s, lo, Wt, torch.zeros_like(sc), sc), act
        feat, _ = features(mu, sc, lo.float(), hi.float())
        d, g = net(feat, hyp if net.arch.get('hyper') else None).chunk(2, 1)
        return trit_bits(s, lo, Wt, sc * d, sc * torch.exp(g.clamp(-3, 3))), act

    crr = start(StateNet(M, 2, **arch('crr', args.crr_hidden, args.crr_depth, args.crr_hyper)), 'crr')
    opt = torch.optim.Adam(crr.parameters(), lr=args.lr / 2)
    for step in range(args.steps[1] if 'crr' in stages else 0):
        b = next(it)
        s = S[b]
        L = max(planes_for(s), 2)
        k, pas, frac = 0, 0, None
        if passes == 'checkerboard':
            while k == 0 and pas == 0:
                k, pas = int(rng.integers(0, L)), int(rng.integers(0, n_passes))
        else:
            # any split of a plane into passes: a plane's start, or after a random top fraction
            k = int(rng.integers(0, L))
            frac = 0.0 if k > 0 and rng.random() < 0.3 else float(rng.uniform(0.05, 0.95))
        lo, hi, W, target = crr_state(s, L, k, pas, SC[b], frac)
        ref, active = crr_bits(s, MU[b], SC[b], lo, hi, W, target, crr, H[b].float())
        loss = (ref * active).sum() / active.sum().clamp_min(1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step == int(args.steps[1] * 0.8):
            for gr in opt.param_groups:
                gr['lr'] = args.lr / 20
        if step % 250 == 0 or step == args.steps[1] - 1:
            with torch.no_grad():
                L = planes_for(vS)
                tot_b = tot_r = 0.0
                for k in range(L):
                    for pas in range(n_passes):
                        if k == 0 and pas == 0:
                            continue
                        lo, hi, W, target = crr_state(vS, L, k, pas, vsc)
                        base, act = crr_bits(vS, vmu, vsc, lo, hi, W, target, None)
                        ref, _ = crr_bits(vS, vmu, vsc, lo, hi, W, target, crr, vh)
                        tot_b += float((base * act).sum())
                        tot_r += float((ref * act).sum())
            log({'head': 'crr', 'step': step, 'train_bits': float(loss), 'passes': args.passes, 'val_saving': 1 - tot_r / max(tot_b, 1e-9)})
    crr.eval()

    # --- 3. CDR: weighted squared error in y (proportional to the error in y' / gain)
    cdr = start(StateNet(M, 1, **arch('cdr', 160, 1)), 'cdr')
    opt = torch.optim.Adam(cdr.parameters(), lr=args.lr / 2)
    for step in range(args.steps[2] if 'cdr' in stages else 0):
        b = next(it)
        s, lo, hi, _ = sample_state(b, True)
        mu, sc = MU[b], SC[b]
        lo, hi = lo.float(), hi.float()
        feat, yhat = features(mu, sc, lo, hi)
        W = hi - lo + 1
        u = torch.where(W > 1, 0.5 * torch.minimum(W, 2 * sc), torch.zeros_like(W))
        out = yhat + u * cdr(feat)
        if args.cdr_loss == 'image':
            # a random 8x8 latent window and its 128x128 pixels, through the frozen synthesis
            ws = min(8, Y.shape[2], Y.shape[3])
            r, c = (int(v) for v in rng.integers(0, min(Y.shape[2], Y.shape[3]) - ws + 1, size=2))
            x = torch.from_numpy(X[b.numpy()][:, 16 * r:16 * (r + ws), 16 * c:16 * (c + ws)]).permute(0, 3, 1, 2).float() / 255
            win = (slice(None), slice(None), slice(r, r + ws), slice(c, c + ws))
            loss = (model.g_s(out[win] * inv_gain) - x).pow(2).mean()
            with torch.no_grad():
                base = (model.g_s(yhat[win] * inv_gain) - x).pow(2).mean()
        else:
            target = mu + s
            loss = ((out - target) ** 2 * w).mean()
            base = ((yhat - target) ** 2 * w).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step == int(args.steps[2] * 0.8):
            for gr in opt.param_groups:
                gr['lr'] = args.lr / 20
        if step % 250 == 0 or step == args.steps[2] - 1:
            log({'head': 'cdr', 'step': step, 'train_mse_ratio': float(loss / base.clamp_min(1e-12))})

    heads = {'param': param.state_dict(), 'crr': crr.state_dict(), 'cdr': cdr.state_dict()}
    meta = {'passes': args.passes, 'backbone_sha256': backbone_sha, 'backbone_step': ck['meta'].get('step'),
            'backbone_cpu_hours': ck['meta'].get('cpu_hours'), 'M': M, 'steps': args.steps,
            'samples': args.samples, 'seed': args.seed, 'cpu_seconds': time.process_time(),
            'arch': {'crr': crr.arch, 'cdr': cdr.arch}}
    tmp = args.out + '.tmp'
    torch.save({'heads': {k: {n: t.half() for n, t in v.items()} for k, v in heads.items()}, 'meta': meta}, tmp)
    os.replace(tmp, args.out)
    log({'head': 'done', 'out': args.out, **meta})


if __name__ == '__main__':
    main()
