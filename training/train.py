#!/usr/bin/env python3
"""Train the image codec (loss R + lambda * 255^2 * MSE, variable rate from one model).

    # full run, resumable: picks up training/checkpoints/<id>.pt when it exists
    OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 training/train.py --id nc-small --hours 2.5

    # smoke run: a tiny model, a few steps, well under a minute (tests and CI)
    /usr/bin/python3 training/train.py --smoke --out-dir /tmp/smoke

Runs on CPU or CUDA unchanged (--device auto). Checkpoints are compact: fp32 weights, their
moving average (--ema) and the Adam moments in fp16 (the second moment stored as its square
root so it stays in range), one file replaced atomically every --ckpt-minutes. Every step
that logs writes a JSON line; validation lines carry the raw weights' figures (`val`) and
the averaged weights' (`val_ema`, what export.py ships).
"""
import argparse
import json
import math
import os
import random
import signal
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import DEFAULT_LAMBDAS, ImageCodec, rd_terms  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CONFIGS = {
    'small': dict(N=64, M=128, Nh=64, Nz=64, slices=4, hidden=192),
    'large': dict(N=128, M=192, Nh=128, Nz=128, slices=4, hidden=256),
    'tiny': dict(N=8, M=16, Nh=8, Nz=8, slices=2, hidden=16),
}


def pick_device(name):
    if name == 'auto':
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    return torch.device(name)


def cpu_has_native_bf16():
    try:
        with open('/proc/cpuinfo') as f:
            flags = f.read()
    except OSError:
        return False
    return ' avx512_bf16' in flags or ' amx_bf16' in flags


def use_bf16(precision, device):
    """Whether g_a/g_s train under bf16 autocast. Measured on a 2-core AVX512-BF16 machine
    (nc-small, batch 16 at 128x128): 1.5x faster steps, gradients at cosine 0.992-0.997 to
    fp32 ones on the same batch and noise; without native bf16 the CPU would emulate it."""
    if precision == 'auto':
        return device.type == 'cuda' or (device.type == 'cpu' and cpu_has_native_bf16())
    return precision == 'bf16'


def load_crops(args):
    if args.smoke and not os.path.exists(args.crops):
        # a user's clone has no training set: make crops from the repo's own fixtures
        from PIL import Image
        folder = args.images or os.path.join(HERE, '..', 'test', 'fixtures')
        imgs = []
        for n in sorted(os.listdir(folder)):
            if n.lower().endswith(('.png', '.jpg', '.jpeg', '.webp')):
                im = np.asarray(Image.open(os.path.join(folder, n)).convert('RGB'))
                if im.shape[0] >= args.patch and im.shape[1] >= args.patch:
                    imgs.append(im)
        if not imgs:
            imgs = [np.random.default_rng(0).integers(0, 256, (args.patch * 2, args.patch * 2, 3), dtype=np.uint8)]
        train = [im[:args.patch * (im.shape[0] // args.patch), :args.patch * (im.shape[1] // args.patch)] for im in imgs]
        crops = []
        for im in train:
            for r in range(0, im.shape[0], args.patch):
                for c in range(0, im.shape[1], args.patch):
                    crops.append(im[r:r + args.patch, c:c + args.patch])
        arr = np.stack(crops)
        return arr, arr[:2]
    data = np.load(args.crops)
    return data['train'], data['val']


def setup_run(args):
    """Threads, seeds and device of a run; its checkpoint and log paths; fresh run metadata."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    random.seed(args.seed)
    device = pick_device(args.device)
    ckpt_dir = os.path.join(args.out_dir, 'checkpoints')
    log_dir = os.path.join(args.out_dir, 'logs')
    os.makedirs(ckpt_dir, exist_ok=True)
    os.makedirs(log_dir, exist_ok=True)
    meta = {'step': 0, 'cpu_hours': 0.0, 'wall_hours': 0.0, 'gpu_hours': 0.0, 'samples': 0}
    return device, os.path.join(ckpt_dir, f'{args.id}.pt'), os.path.join(log_dir, f'{args.id}.jsonl'), meta


def resume_or_start(ckpt_path, from_config, args, device, meta, fresh):
    """The model and its Adam optimiser: from the run's checkpoint when there is one
    (from_config(config), weights, optimiser state, `meta` updated), else fresh(); in
    channels_last memory format (1.46x faster steps on CPU), learning rate from args. Also
    returns the checkpoint's weight average (None without one)."""
    saved_avg = None
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location='cpu')
        model = from_config(ck['config']).to(device)
        model.load_state_dict(ck['model'])
        model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
        opt.load_state_dict(adam_state_expand(ck['opt'], device))
        for p in model.parameters():
            if p.dim() == 4 and p in opt.state:
                for k in ('exp_avg', 'exp_avg_sq'):
                    opt.state[p][k] = opt.state[p][k].contiguous(memory_format=torch.channels_last)
        meta.update(ck['meta'])
        saved_avg = ck.get('ema')
        print(f'resumed {ckpt_path} at step {meta["step"]} ({meta["cpu_hours"]:.2f} CPU-h)', flush=True)
    else:
        model = fresh().to(device).to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    for g in opt.param_groups:
        g['lr'] = args.lr
    return model, opt, saved_avg


def adam_state_compact(opt):
    state = opt.state_dict()
    out = {'param_groups': state['param_groups'], 'state': {}}
    for k, v in state['state'].items():
        out['state'][k] = {
            'step': v['step'],
            'exp_avg': v['exp_avg'].half(),
            'exp_avg_sq_sqrt': v['exp_avg_sq'].sqrt().half(),
        }
    return out


def adam_state_expand(compact, device):
    state = {'param_groups': compact['param_groups'], 'state': {}}
    for k, v in compact['state'].items():
        state['state'][k] = {
            'step': v['step'],
            'exp_avg': v['exp_avg'].float().to(device),
            'exp_avg_sq': v['exp_avg_sq_sqrt'].float().pow(2).to(device),
        }
    return state


class WeightAverage:
    """Exponential moving average of a model's floating-point state (parameters and
    buffers), updated after every optimiser step. Validation and export use it: at a fixed
    learning rate the raw weights wander, and the validation PSNR of nc-small moved by
    up to 0.3 dB from one checkpoint to the next. Stored in checkpoints as float16."""

    def __init__(self, model, decay, saved=None):
        self.decay = decay
        state = model.state_dict()
        self.keys = [k for k, v in state.items() if v.is_floating_point()]
        src = saved if saved is not None else state
        self.avg = {k: src[k].detach().to(state[k].device, torch.float32).clone() for k in self.keys}
        self._live = [state[k] for k in self.keys]
        self._avg = [self.avg[k] for k in self.keys]

    @torch.no_grad()
    def update(self):
        torch._foreach_mul_(self._avg, self.decay)
        torch._foreach_add_(self._avg, [t.float() for t in self._live], alpha=1 - self.decay)

    def state_half(self):
        return {k: v.detach().cpu().half() for k, v in self.avg.items()}

    @torch.no_grad()
    def swap(self, model):
        """Exchanges the model's weights with the averaged ones (call again to undo)."""
        for k, live in zip(self.keys, self._live):
            tmp = live.detach().clone()
            live.copy_(self.avg[k].to(live.dtype))
            self.avg[k].copy_(tmp.float())

    def checkpoint_fields(self):
        return {'ema': self.state_half(), 'ema_decay': self.decay}

    def validated(self, model, validate):
        """validate() run with the averaged weights in the model, which then gets its own back."""
        self.swap(model)
        try:
            return validate()
        finally:
            self.swap(model)


def start_average(model, decay, saved):
    """The run's weight average (None when decay is 0): resumed from the checkpoint's, or
    started from the weights."""
    if decay <= 0:
        return None
    print(f'weight average (decay {decay}) {"resumed" if saved is not None else "started from the weights"}', flush=True)
    return WeightAverage(model, decay, saved)


def save_checkpoint(path, model, opt, meta, ema=None, kind=None):
    """Writes the compact checkpoint atomically; `kind` marks models other than the image
    codec (bsq.py's 'bsq')."""
    tmp = path + '.tmp'
    weights = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    ck = {'config': model.config, 'model': weights, 'opt': adam_state_compact(opt), 'meta': meta}
    if kind is not None:
        ck['kind'] = kind
    if ema is not None:
        ck.update(ema.checkpoint_fields())
    torch.save(ck, tmp)
    os.replace(tmp, path)


def random_crops(train, rng, batch, patch, device):
    """A batch of random patch x patch windows (at most the crops' size) from random cached
    crops, as an NCHW float tensor in [0, 1], and the window size. The NHWC crops viewed as
    NCHW are already channels_last: 1.46x faster steps on CPU than NCHW."""
    idx = rng.integers(0, len(train), batch)
    p = min(patch, train.shape[1])
    off = rng.integers(0, train.shape[1] - p + 1, 2) if train.shape[1] > p else (0, 0)
    xb = np.ascontiguousarray(train[idx, off[0]:off[0] + p, off[1]:off[1] + p])
    x = (torch.from_numpy(xb).to(device).permute(0, 3, 1, 2).float() / 255).contiguous(memory_format=torch.channels_last)
    return x, p


def train_step(model, opt, loss, ema, meta, batch):
    """One optimiser step on `loss` (gradient norm clipped to 1), the weight average updated,
    the run's step and sample counters advanced."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if ema is not None:
        ema.update()
    meta['step'] += 1
    meta['samples'] += batch


class TrainLog:
    """Running means of a run's training figures, written as one JSON line (through `write`)
    by flush(); a loss that is not finite stops the run before it can overwrite a checkpoint."""

    def __init__(self, write):
        self.write = write
        self.sums, self.n = {}, 0

    def add(self, **values):
        for k, v in values.items():
            self.sums[k] = self.sums.get(k, 0.0) + v
        self.n += 1

    def flush(self, head, tail):
        rec = {**head, **{k: v / max(self.n, 1) for k, v in self.sums.items()}, **tail}
        self.sums, self.n = {}, 0
        self.write(rec)
        if not math.isfinite(rec.get('loss', 0.0)):
            raise SystemExit('loss is not finite; stopping without overwriting the checkpoint')
        return rec


def training_arguments(ap, *, batch, patch, lr, log_every=50, threads=2, ema=0.999, seed=20261127):
    """The arguments every training script takes, with that script's defaults."""
    ap.add_argument('--crops', default=os.path.join(HERE, 'cache', 'crops.npz'))
    ap.add_argument('--images', default=None, help='smoke mode: folder of images to crop')
    ap.add_argument('--out-dir', default=HERE, help='checkpoints/ and logs/ go here')
    ap.add_argument('--hours', type=float, default=1.0, help='wall-clock budget of this run')
    ap.add_argument('--steps', type=int, default=0, help='stop after this many steps (0: no limit)')
    ap.add_argument('--batch', type=int, default=batch)
    ap.add_argument('--patch', type=int, default=patch)
    ap.add_argument('--lr', type=float, default=lr)
    ap.add_argument('--ckpt-minutes', type=float, default=10.0)
    ap.add_argument('--log-every', type=int, default=log_every)
    ap.add_argument('--threads', type=int, default=threads)
    ap.add_argument('--device', default='auto')
    ap.add_argument('--ema', type=float, default=ema,
                    help='decay of the moving average of the weights that validation and export use (0: none)')
    ap.add_argument('--seed', type=int, default=seed)
    ap.add_argument('--smoke', action='store_true', help='a tiny run of a few steps, well under a minute')


def run_loop(args, device, meta, log_path, model, ema, step, validate, save, first_checkpoint=False):
    """Runs `step()` until --steps or --hours is spent or SIGTERM/SIGINT arrives (the current
    step finishes first), then checkpoints.

    step() trains one step and returns (figures, tail): figures are averaged over the steps
    between log lines, tail is added to the line as it is. Every --log-every steps a train
    line; every --ckpt-minutes (and at the end, and at the start with first_checkpoint) save()
    writes the checkpoint and a val line records validate() of the raw weights ('val',
    comparable with older lines) and of the weight average ema ('val_ema', what export.py
    ships). meta's hours count training only: CPU time of this process on CPU, wall time on
    CUDA; validation and saving are left out."""
    logf = open(log_path, 'a')

    def write(rec):
        rec.setdefault('time', time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()))
        logf.write(json.dumps(rec) + '\n')
        logf.flush()
        print(json.dumps(rec), flush=True)

    clock = {'wall': time.time(), 'cpu': time.process_time()}

    def account(restart=False):
        dt_wall, dt_cpu = time.time() - clock['wall'], time.process_time() - clock['cpu']
        if not restart:
            meta['wall_hours'] += dt_wall / 3600
            if device.type == 'cuda':
                meta['gpu_hours'] += dt_wall / 3600
            else:
                meta['cpu_hours'] += dt_cpu / 3600
        clock.update(wall=time.time(), cpu=time.process_time())

    def hours():
        return {'step': meta['step'], 'cpu_hours': round(meta['cpu_hours'], 4), 'gpu_hours': round(meta['gpu_hours'], 4),
                'wall_hours': round(meta['wall_hours'], 4)}

    def checkpoint():
        account()
        rec = {'type': 'val', **hours(), 'val': validate()}
        if ema is not None:
            rec['val_ema'] = ema.validated(model, validate)
        save()
        write(rec)
        account(restart=True)  # validation and saving are not training time

    stop = {'now': False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    train_log = TrainLog(write)
    try:
        if first_checkpoint:
            checkpoint()
        start = last_ckpt = time.time()
        run_steps = 0
        while not stop['now'] and not (args.steps and run_steps >= args.steps) and time.time() - start < args.hours * 3600:
            figures, tail = step()
            run_steps += 1
            train_log.add(**figures)
            if meta['step'] % args.log_every == 0:
                account()
                train_log.flush({'type': 'train', **hours()}, tail)
            if time.time() - last_ckpt > args.ckpt_minutes * 60:
                checkpoint()
                last_ckpt = time.time()
        checkpoint()
    finally:
        logf.close()


def lambda_of(model, q):
    lam = model.lambdas.log()
    K = len(lam)
    q = q.clamp(0, K - 1)
    lo = q.floor().long().clamp(max=K - 2)
    t = q - lo.float()
    return (lam[lo] * (1 - t) + lam[lo + 1] * t).exp()


def psnr8(x_hat, x):
    """Per-image PSNR of x_hat rounded to 8 bits, as a decoder writes it, against x (both in [0, 1])."""
    mse = ((x_hat.clamp(0, 1) * 255).round() - x * 255).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(255 ** 2 / mse.clamp_min(1e-10))


@torch.no_grad()
def validate(model, val, device, qs, batch=4):
    if len(val) == 0:
        return []
    model.eval()
    # validated as exported: in fp32
    bf16, model.bf16_transforms = getattr(model, 'bf16_transforms', False), False
    out = []
    for q in qs:
        bpps, psnrs = [], []
        for i in range(0, len(val), batch):
            x = torch.from_numpy(val[i:i + batch]).to(device).permute(0, 3, 1, 2).float() / 255
            qq = torch.full((x.shape[0],), float(q), device=device)
            bpp, _, x_hat = rd_terms(model, x, qq)
            psnrs += psnr8(x_hat, x).tolist()
            bpps += bpp.tolist()
        out.append({'q': q, 'bpp': float(np.mean(bpps)), 'psnr': float(np.mean(psnrs))})
    model.train()
    model.bf16_transforms = bf16
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--id', default='nc-small', help='codec id; names the checkpoint and log')
    ap.add_argument('--config', choices=sorted(CONFIGS), default=None)
    ap.add_argument('--precision', choices=['auto', 'fp32', 'bf16'], default='auto',
                    help='bf16 autocast for g_a and g_s (the rest stays fp32); auto: bf16 on CUDA and on '
                         'CPUs with native bf16 (avx512_bf16 / amx_bf16), fp32 elsewhere')
    ap.add_argument('--bf16', action='store_const', const='bf16', dest='precision', help='same as --precision bf16')
    training_arguments(ap, batch=16, patch=128, lr=1e-4)
    args = ap.parse_args()

    if args.smoke:
        args.config = args.config or 'tiny'
        args.steps = args.steps or 12
        args.batch, args.patch, args.log_every, args.ckpt_minutes = 2, 64, 4, 1e9
        args.id = args.id if args.id != 'nc-small' else 'smoke'
    device, ckpt_path, log_path, meta = setup_run(args)
    model, opt, saved_avg = resume_or_start(ckpt_path, lambda cfg: ImageCodec(**cfg), args, device, meta,
                                            lambda: ImageCodec(lambdas=DEFAULT_LAMBDAS, **CONFIGS[args.config or 'small']))

    ema = start_average(model, args.ema, saved_avg)

    train, val = load_crops(args)
    model.bf16_transforms = use_bf16(args.precision, device)
    print(f'{len(train)} crops, {len(val)} validation images, device {device}, '
          f'{sum(p.numel() for p in model.parameters())} parameters, '
          f'transforms in {"bf16" if model.bf16_transforms else "fp32"}', flush=True)
    rng = np.random.default_rng(args.seed + meta['step'])
    K = len(model.lambdas)
    val_qs = [1.0, 4.0, float(K - 1)] if not args.smoke else [0.0]

    def step():
        x, p = random_crops(train, rng, args.batch, args.patch, device)
        q = torch.from_numpy(rng.uniform(0, K - 1, args.batch)).float().to(device)
        lam = lambda_of(model, q)
        bpp, mse, _ = rd_terms(model, x, q)
        loss = (bpp.float() + lam * 255 ** 2 * mse.float()).mean()
        train_step(model, opt, loss, ema, meta, args.batch)
        return ({'loss': loss.item(), 'bpp': bpp.mean().item(),
                 'psnr': (10 * torch.log10(1 / mse.detach().clamp_min(1e-10))).mean().item()},
                {'lr': args.lr, 'patch': p, 'batch': args.batch})

    model.train()
    run_loop(args, device, meta, log_path, model, ema, step, lambda: validate(model, val, device, val_qs),
             lambda: save_checkpoint(ckpt_path, model, opt, meta, ema))


if __name__ == '__main__':
    main()
