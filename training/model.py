"""Learned image codec: mean-scale hyperprior with a multi-reference entropy model.

- g_a / g_s: four stride-2 stages with simplified GDN; the synthesis upsamples with
  3x3 conv + pixel shuffle (sub-pixel), which is cheaper than transposed convolution.
- h_a / h_s: hyperprior (Minnen et al. 2018); z has a factorized prior (Balle et al. 2018).
- y is split into channel slices (Minnen & Singh 2020); each slice is coded in two
  checkerboard passes (He et al. 2021). The Gaussian mean and scale of each pass come from
  one parameter net per slice fed with the hyperprior features, the slices already decoded
  and a 5x5 context over the slice's anchors (zeros in the anchor pass).
- Variable rate: gain and inverse-gain vectors per lambda, interpolated geometrically
  between neighbouring lambdas for a continuous quality (Cui et al. 2021).

Every stage is a plain tensor-in/tensor-out module so it exports to its own ONNX graph.
"""
import math

import contextlib

import torch
import torch.nn as nn
import torch.nn.functional as F

SCALE_MIN = 0.11
LIKELIHOOD_MIN = 1e-9
DEFAULT_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.013, 0.025, 0.0483, 0.0932, 0.18)


class SimpleGDN(nn.Module):
    """Simplified GDN: y = x / (beta + gamma * |x|); the inverse multiplies instead."""

    def __init__(self, ch: int, inverse: bool = False):
        super().__init__()
        self.inverse = inverse
        self.beta_p = nn.Parameter(torch.ones(ch))
        self.gamma_p = nn.Parameter(torch.eye(ch).mul_(0.1).sqrt_().view(ch, ch, 1, 1))

    def forward(self, x):
        beta = self.beta_p.pow(2) + 1e-6
        gamma = self.gamma_p.pow(2)
        norm = F.conv2d(x.abs(), gamma, beta)
        return x * norm if self.inverse else x / norm


def conv(cin, cout, k=5, stride=1):
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2)


class SubPixelUp(nn.Module):
    """x2 upsampling: 3x3 conv to 4*cout channels, then pixel shuffle."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout * 4, 3, padding=1)

    def forward(self, x):
        return F.pixel_shuffle(self.conv(x), 2)


class Analysis(nn.Module):
    def __init__(self, N, M):
        super().__init__()
        self.net = nn.Sequential(
            conv(3, N, 5, 2), SimpleGDN(N),
            conv(N, N, 5, 2), SimpleGDN(N),
            conv(N, N, 5, 2), SimpleGDN(N),
            conv(N, M, 5, 2))

    def forward(self, x):
        return self.net(x)


class Synthesis(nn.Module):
    def __init__(self, N, M):
        super().__init__()
        self.net = nn.Sequential(
            SubPixelUp(M, N), SimpleGDN(N, inverse=True),
            SubPixelUp(N, N), SimpleGDN(N, inverse=True),
            SubPixelUp(N, N), SimpleGDN(N, inverse=True),
            SubPixelUp(N, 3))

    def forward(self, y):
        return self.net(y)


class HyperAnalysis(nn.Module):
    def __init__(self, M, Nh, Nz):
        super().__init__()
        self.net = nn.Sequential(
            conv(M, Nh, 3), nn.LeakyReLU(inplace=True),
            conv(Nh, Nh, 5, 2), nn.LeakyReLU(inplace=True),
            conv(Nh, Nz, 5, 2))

    def forward(self, y):
        return self.net(y)


class HyperSynthesis(nn.Module):
    def __init__(self, M, Nh, Nz):
        super().__init__()
        self.net = nn.Sequential(
            SubPixelUp(Nz, Nh), nn.LeakyReLU(inplace=True),
            SubPixelUp(Nh, Nh * 3 // 2), nn.LeakyReLU(inplace=True),
            conv(Nh * 3 // 2, 2 * M, 3))

    def forward(self, z_hat):
        return self.net(z_hat)


class SliceParams(nn.Module):
    """Gaussian mean and scale for one channel slice, one checkerboard pass.

    Inputs: hyper features (2M ch), the slices already decoded (s*C ch, absent for s=0)
    and the slice's own anchors with non-anchors zeroed (C ch; all zeros in the anchor pass).
    """

    def __init__(self, M, C, s, hidden=192):
        super().__init__()
        self.has_prev = s > 0
        self.ctx = conv(C, 2 * C, 5)
        cin = 2 * M + s * C + 2 * C
        self.net = nn.Sequential(
            nn.Conv2d(cin, hidden, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(hidden, hidden * 2 // 3, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(hidden * 2 // 3, 2 * C, 1))

    def forward(self, hyper, prev, anchors):
        parts = [hyper]
        if self.has_prev:
            parts.append(prev)
        parts.append(self.ctx(anchors))
        mean, scale = self.net(torch.cat(parts, 1)).chunk(2, 1)
        return mean, F.softplus(scale)


class FactorizedPrior(nn.Module):
    """Per-channel learned CDF c(x) (Balle et al. 2018, appendix 6.1), filters (3, 3, 3)."""

    def __init__(self, ch, filters=(3, 3, 3), init_scale=10.0):
        super().__init__()
        dims = (1,) + tuple(filters) + (1,)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((ch, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(ch, dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(ch, dims[i + 1], 1)))

    def logits_cdf(self, v):
        # v: (ch, 1, n)
        for i in range(len(self.matrices)):
            v = torch.matmul(F.softplus(self.matrices[i]), v) + self.biases[i]
            if i < len(self.factors):
                v = v + torch.tanh(self.factors[i]) * torch.tanh(v)
        return v

    def likelihood(self, z):
        """Probability mass of the unit bin around each element of z (B, ch, H, W)."""
        return full_precision(self._likelihood)(z)

    def _likelihood(self, z):
        B, C, H, W = z.shape
        v = z.permute(1, 0, 2, 3).reshape(C, 1, -1)
        lower = self.logits_cdf(v - 0.5)
        upper = self.logits_cdf(v + 0.5)
        sign = -torch.sign(lower + upper).detach()
        p = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        return p.reshape(C, B, H, W).permute(1, 0, 2, 3).clamp_min(LIKELIHOOD_MIN)

    @torch.no_grad()
    def pmf_tables(self, tail=1e-9, max_half_range=512):
        """Integer-bin pmfs per channel over [lo, hi], for the coder's factorized tables."""
        C = self.matrices[0].shape[0]
        grid = torch.arange(-max_half_range, max_half_range + 1, dtype=torch.float32)
        v = grid.view(1, 1, -1).repeat(C, 1, 1)
        cdf_hi = torch.sigmoid(self.logits_cdf(v + 0.5)).squeeze(1)
        cdf_lo = torch.sigmoid(self.logits_cdf(v - 0.5)).squeeze(1)
        pmf = (cdf_hi - cdf_lo).clamp_min(0)
        tables = []
        for c in range(C):
            lo_idx = int((cdf_lo[c] < tail / 2).nonzero().max().item()) if (cdf_lo[c] < tail / 2).any() else 0
            hi_idx = int((cdf_hi[c] > 1 - tail / 2).nonzero().min().item()) if (cdf_hi[c] > 1 - tail / 2).any() else len(grid) - 1
            hi_idx = max(hi_idx, lo_idx)
            tables.append({'offset': int(grid[lo_idx].item()), 'pmf': pmf[c, lo_idx:hi_idx + 1].tolist()})
        return tables


def gain_init(lambdas):
    """Starting gains: quantisation step ~ 1/gain and the best step for MSE goes as
    1/sqrt(lambda), so gain_k = sqrt(lambda_k / geometric mean of the lambdas)."""
    lam = torch.tensor(lambdas, dtype=torch.float32)
    return (lam / lam.log().mean().exp()).sqrt()


def transform_precision(model, x):
    """bf16 autocast for g_a and g_s when the model's `bf16_transforms` is set (they hold
    almost all the arithmetic); the hyper nets, parameter nets and likelihoods stay fp32."""
    if getattr(model, 'bf16_transforms', False):
        return torch.autocast(x.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def full_precision(fn):
    """Run a rate term in fp32 even inside a bf16 autocast region."""
    def wrapped(*args):
        dev = next(a for a in args if torch.is_tensor(a)).device.type
        with torch.autocast(device_type=dev, enabled=False):
            return fn(*[a.float() if torch.is_tensor(a) else a for a in args])
    return wrapped


@full_precision
def gaussian_likelihood(y, mean, scale):
    scale = scale.clamp_min(SCALE_MIN)
    v = (y - mean).abs()
    upper = 0.5 * torch.erfc(-(0.5 - v) / (scale * math.sqrt(2)))
    lower = 0.5 * torch.erfc(-(-0.5 - v) / (scale * math.sqrt(2)))
    return (upper - lower).clamp_min(LIKELIHOOD_MIN)


def ste_round(x):
    return x + (torch.round(x) - x).detach()


def checkerboard(h, w, device):
    """1 at anchor positions ((row + col) even), 0 elsewhere; shape (1, 1, h, w)."""
    i = torch.arange(h, device=device).view(-1, 1)
    j = torch.arange(w, device=device).view(1, -1)
    return ((i + j) % 2 == 0).float().view(1, 1, h, w)


class ImageCodec(nn.Module):
    def __init__(self, N=64, M=128, Nh=64, Nz=64, slices=4, lambdas=DEFAULT_LAMBDAS, hidden=192):
        super().__init__()
        assert M % slices == 0
        self.config = dict(N=N, M=M, Nh=Nh, Nz=Nz, slices=slices, lambdas=list(lambdas), hidden=hidden)
        self.M, self.S, self.C = M, slices, M // slices
        self.g_a = Analysis(N, M)
        self.g_s = Synthesis(N, M)
        self.h_a = HyperAnalysis(M, Nh, Nz)
        self.h_s = HyperSynthesis(M, Nh, Nz)
        self.params = nn.ModuleList(SliceParams(M, self.C, s, hidden) for s in range(slices))
        self.prior_z = FactorizedPrior(Nz)
        K = len(lambdas)
        self.register_buffer('lambdas', torch.tensor(lambdas, dtype=torch.float32))
        g0 = gain_init(lambdas).view(K, 1).repeat(1, M)
        self.gain = nn.Parameter(g0.clone())
        self.inv_gain = nn.Parameter(1 / g0)

    def gains(self, q):
        """Gain vectors for a continuous rate index q in [0, K-1] (geometric interpolation)."""
        q = q.clamp(0, len(self.lambdas) - 1)
        lo = q.floor().long().clamp(max=len(self.lambdas) - 2)
        t = (q - lo.float()).view(-1, 1)
        g = self.gain.abs()[lo].pow(1 - t) * self.gain.abs()[lo + 1].pow(t)
        ig = self.inv_gain.abs()[lo].pow(1 - t) * self.inv_gain.abs()[lo + 1].pow(t)
        return g.view(-1, self.M, 1, 1), ig.view(-1, self.M, 1, 1)

    def forward(self, x, q):
        """x in [0, 1], q (B,) rate indexes. Returns reconstruction and likelihoods."""
        y, hyper, z_lik, inv_gain = self.latents(x, q)
        y_hat, y_lik = self.slice_context(y, hyper)
        with self.transform_precision(x):
            x_hat = self.g_s(y_hat * inv_gain)
        return x_hat.float(), y_lik, z_lik

    def latents(self, x, q):
        """The gained latent y, the hyperprior features, the likelihoods of z (of z plus
        uniform noise when training) and the inverse gains."""
        gain, inv_gain = self.gains(q)
        with self.transform_precision(x):
            y = self.g_a(x)
        y = y.float() * gain
        z = self.h_a(y)
        z_lik = self.prior_z.likelihood(z + torch.empty_like(z).uniform_(-0.5, 0.5) if self.training else torch.round(z))
        hyper = self.h_s(ste_round(z))
        return y, hyper, z_lik, inv_gain

    def slice_context(self, y, hyper):
        """The multi-reference context model over the gained latent y: each channel slice in
        two checkerboard passes, its Gaussian from the hyperprior features, the slices before
        it and (second pass) its own anchors. Returns y_hat (straight-through rounding around
        the means) and the likelihoods (of y plus uniform noise when training)."""
        B, _, h, w = y.shape
        mask = checkerboard(h, w, y.device)
        y_hats, y_liks = [], []
        for s in range(self.S):
            ys = y[:, s * self.C:(s + 1) * self.C]
            prev = torch.cat(y_hats, 1) if s > 0 else None
            mean_a, scale_a = self.params[s](hyper, prev, torch.zeros_like(ys))
            anchors = (ste_round(ys - mean_a) + mean_a) * mask
            mean_n, scale_n = self.params[s](hyper, prev, anchors)
            mean = mean_a * mask + mean_n * (1 - mask)
            scale = scale_a * mask + scale_n * (1 - mask)
            y_noisy = ys + torch.empty_like(ys).uniform_(-0.5, 0.5) if self.training else torch.round(ys - mean) + mean
            y_liks.append(gaussian_likelihood(y_noisy, mean, scale))
            y_hats.append(ste_round(ys - mean) + mean)
        return torch.cat(y_hats, 1), torch.cat(y_liks, 1)

    def transform_precision(self, x):
        return transform_precision(self, x)


def rd_terms(model, x, q):
    """Per-sample bits per pixel and MSE (on [0,1] images)."""
    x_hat, y_lik, z_lik = model(x, q)
    npix = x.shape[2] * x.shape[3]
    bits = -(torch.log2(y_lik).flatten(1).sum(1) + torch.log2(z_lik).flatten(1).sum(1))
    bpp = bits / npix
    mse = (x_hat.float() - x).pow(2).flatten(1).mean(1)
    return bpp, mse, x_hat


def checkpoint_weights(ck, which='ema'):
    """The weights of a train.py checkpoint: the exponential moving average of the weights
    (`ema`, what is exported and shipped) when the checkpoint has one, else the raw weights.
    which='raw' always gives the raw weights."""
    if which == 'ema' and ck.get('ema') is not None:
        raw = ck['model']
        return {k: v.to(raw[k].dtype) for k, v in ck['ema'].items()}
    return ck['model']


def load_frozen(path, which='ema'):
    """An image codec checkpoint (train.py format) as a frozen model in eval mode, and the
    checkpoint; the averaged weights when it has them (see checkpoint_weights)."""
    ck = torch.load(path, map_location='cpu')
    model = ImageCodec(**ck['config'])
    model.load_state_dict(checkpoint_weights(ck, which))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, ck
