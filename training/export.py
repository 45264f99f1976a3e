#!/usr/bin/env python3
"""Export a trained checkpoint to codecs/<id>/: one ONNX graph per stage plus manifest.json.

    /usr/bin/python3 training/export.py --ckpt training/checkpoints/nc-small.pt --out codecs/nc-small

Stages (all NCHW float32, dynamic height and width):
  g_a      x [1,3,H,W] in [0,1]                    -> y [1,M,H/16,W/16]   (before the gain)
  h_a      y * gain                                -> z [1,Nz,H/64,W/64]
  h_s      z_hat                                   -> hyper [1,2M,H/16,W/16]
  param_s  hyper, prev (slices < s, absent for s=0), anchors -> mean, scale (one slice, one pass)
  g_s      y_hat * inv_gain                        -> x_hat [1,3,H,W]
The gains, the factorized prior of z (integer-bin pmfs per channel) and the scale table are data
in the manifest. After export the graphs are run by onnxruntime-node on a fixed input and
compared with PyTorch (training/check_onnx.mjs); the max abs differences go into the manifest.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import SCALE_MIN, ImageCodec, checkpoint_weights  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OPSET = 17
SCALE_TABLE = {'min': SCALE_MIN, 'max': 256.0, 'levels': 64}
PAD = 64


class ParamStage(torch.nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, hyper, prev, anchors):
        return self.p(hyper, prev, anchors)


class ParamStage0(torch.nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, hyper, anchors):
        return self.p(hyper, None, anchors)


class ProgParamStage(torch.nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, hyper):
        return self.p(hyper)


class CrrStage(torch.nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, feat):
        shift, log_scale = self.p(feat).chunk(2, 1)
        return shift, log_scale


def load_prog_heads(path, M):
    from progressive import ProgParam, StateNet
    ck = torch.load(path, map_location='cpu')
    arch = ck['meta'].get('arch', {})
    if any(a.get('hyper') for a in arch.values()):
        raise SystemExit(f'{path}: heads that read the hyperprior features have no runtime support yet (src/codec/progressive.ts)')
    heads = {'param': ProgParam(M), 'crr': StateNet(M, 2, **arch.get('crr', {})), 'cdr': StateNet(M, 1, **arch.get('cdr', {}))}
    for k, mod in heads.items():
        mod.load_state_dict({n: t.float() for n, t in ck['heads'][k].items()})
        mod.eval()
    return heads, ck['meta']


def store_fp16(path, min_elements=64):
    """Store the graph's large float32 weights as float16 plus a Cast back to float32 (the
    runtime folds the casts at load, so inference stays in float32; the file is half as big)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m = onnx.load(path)
    g = m.graph
    casts = []
    for init in list(g.initializer):
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            continue
        arr = numpy_helper.to_array(init)
        half = numpy_helper.from_array(arr.astype(np.float16), init.name + '__fp16')
        g.initializer.remove(init)
        g.initializer.append(half)
        casts.append(helper.make_node('Cast', [half.name], [init.name], to=TensorProto.FLOAT, name=init.name + '__cast'))
    for i, node in enumerate(casts):
        g.node.insert(i, node)
    onnx.save(m, path)


@torch.no_grad()
def round_weights_fp16(model, val_path, min_elements=64):
    """Round the weights that will be stored as float16, so the exported graphs and the
    PyTorch reference agree; return the cost on the validation images (PSNR and bpp, at
    three rates) when the crop cache is there."""
    from model import rd_terms
    from train import psnr8
    def measure():
        if not val_path or not os.path.exists(val_path):
            return None
        val = np.load(val_path)['val'][:8]
        out = []
        for q in (1.0, 4.0, float(len(model.lambdas) - 1)):
            x = torch.from_numpy(val).permute(0, 3, 1, 2).float() / 255
            bpp, _, x_hat = rd_terms(model, x, torch.full((x.shape[0],), q))
            out.append((float(psnr8(x_hat, x).mean()), float(bpp.mean())))
        return out
    before = measure()
    for name, p in model.named_parameters():
        if p.numel() >= min_elements and not name.startswith(('gain', 'inv_gain', 'prior_z')):
            p.copy_(p.half().float())
    after = measure()
    if before is None:
        return None
    return {'psnrDeltaDb': [round(a[0] - b[0], 4) for a, b in zip(after, before)],
            'bppDelta': [round(a[1] - b[1], 5) for a, b in zip(after, before)],
            'measuredOn': 'validation split of the training photos, 8 images, rate indexes 1, 4, K-1'}


def check_image(H=128, W=192):
    """The fixed, non-square input the exported graphs are checked on: smooth gradients plus
    seeded noise; returns the generator too, for further seeded inputs."""
    g = torch.Generator().manual_seed(7)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, H), torch.linspace(0, 1, W), indexing='ij')
    x = torch.stack([yy, xx, (yy + xx) / 2]).unsqueeze(0)
    return g, (x * 0.7 + 0.3 * torch.rand(1, 3, H, W, generator=g)).clamp(0, 1)


def stage_files(tmp, stages, fp32):
    """Stores each stage's graph as float16 (unless fp32) and lists it with its sha256."""
    if not fp32:
        for st in stages:
            store_fp16(os.path.join(tmp, st + '.onnx'))
    files = {}
    for st in stages:
        p = os.path.join(tmp, st + '.onnx')
        files[st] = {'path': st + '.onnx', 'sha256': sha256_file(p), 'bytes': os.path.getsize(p)}
    return files


def finish_export(tmp, check, out, manifest, no_check=False):
    """Checks the graphs in `tmp` against PyTorch's outputs in `check` with onnxruntime-node
    (unless no_check), writes manifest.json and replaces the generated files of the codec
    folder `out` (its README stays). Returns the check result."""
    check_result = None
    if not no_check:
        with open(os.path.join(tmp, 'manifest.json'), 'w') as f:
            json.dump(manifest, f, indent=1)
        r = subprocess.run(['node', os.path.join(HERE, 'check_onnx.mjs'), tmp, check], capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(r.stdout + r.stderr)
            raise SystemExit('onnxruntime-node check failed')
        check_result = json.loads(r.stdout)
        manifest['exportCheck'] = check_result
    with open(os.path.join(tmp, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
    shutil.rmtree(check, ignore_errors=True)
    os.makedirs(out, exist_ok=True)
    for n in os.listdir(out):
        if n.endswith('.onnx') or n in ('manifest.json', 'tables.json'):
            os.remove(os.path.join(out, n))
    for n in os.listdir(tmp):
        os.replace(os.path.join(tmp, n), os.path.join(out, n))
    shutil.rmtree(tmp, ignore_errors=True)
    return check_result


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def export_graph(module, args, names_in, names_out, path):
    dyn = {n: {2: 'h', 3: 'w'} for n in names_in + names_out}
    torch.onnx.export(module, args, path, input_names=names_in, output_names=names_out,
                      dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)


def write_f32(folder, name, t):
    arr = t.detach().cpu().float().contiguous().numpy()
    arr.astype('<f4').tofile(os.path.join(folder, name + '.bin'))
    return list(arr.shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--ckpt', required=True)
    ap.add_argument('--out', required=True, help='codec folder, e.g. codecs/nc-small')
    ap.add_argument('--id', default=None, help='codec id (default: the folder name)')
    ap.add_argument('--no-check', action='store_true', help='skip the onnxruntime-node comparison')
    ap.add_argument('--fp32', action='store_true', help='keep float32 weights (default: stored as float16)')
    ap.add_argument('--weights', choices=['ema', 'raw'], default='ema',
                    help='the moving average of the weights when the checkpoint has one (default), or the raw weights')
    ap.add_argument('--prog', default=None, help='progressive heads checkpoint (training/progressive.py) to export with the codec')
    ap.add_argument('--prog-passes', default=None,
                    help="progressive: the split of a plane into CRR passes that new files use, e.g. 0.05,0.15,0.35,0.6 "
                         "(default: the heads' own --passes)")
    ap.add_argument('--temporal', default=None, help='P-frame temporal prior checkpoint (training/temporal.py) to export with the codec')
    ap.add_argument('--val', default=os.path.join(HERE, 'cache', 'crops.npz'), help='crop cache whose validation images measure the float16 cost')
    args = ap.parse_args()

    codec_id = args.id or os.path.basename(os.path.normpath(args.out))
    ck = torch.load(args.ckpt, map_location='cpu')
    model = ImageCodec(**ck['config'])
    model.load_state_dict(checkpoint_weights(ck, args.weights))
    model.eval()
    cfg = model.config
    fp16_cost = None
    if not args.fp32:
        fp16_cost = round_weights_fp16(model, args.val)
    M, C, S = model.M, model.C, model.S

    out = os.path.abspath(args.out)
    tmp = out + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)

    g, x = check_image()
    H, W = x.shape[2], x.shape[3]
    h, w = H // 16, W // 16

    check = tempfile.mkdtemp(prefix='nc-check-')
    ref = {'stages': {}}
    with torch.no_grad():
        export_graph(model.g_a, (x,), ['x'], ['y'], os.path.join(tmp, 'g_a.onnx'))
        y = model.g_a(x)
        ref['stages']['g_a'] = {'inputs': {'x': write_f32(check, 'g_a.x', x)}, 'outputs': {'y': write_f32(check, 'g_a.y', y)}}

        gain, inv_gain = model.gains(torch.tensor([3.5]))
        yg = y * gain
        export_graph(model.h_a, (yg,), ['y'], ['z'], os.path.join(tmp, 'h_a.onnx'))
        z = model.h_a(yg)
        ref['stages']['h_a'] = {'inputs': {'y': write_f32(check, 'h_a.y', yg)}, 'outputs': {'z': write_f32(check, 'h_a.z', z)}}

        z_hat = torch.round(z)
        export_graph(model.h_s, (z_hat,), ['z_hat'], ['hyper'], os.path.join(tmp, 'h_s.onnx'))
        hyper = model.h_s(z_hat)
        ref['stages']['h_s'] = {'inputs': {'z_hat': write_f32(check, 'h_s.z_hat', z_hat)},
                                'outputs': {'hyper': write_f32(check, 'h_s.hyper', hyper)}}

        prev_parts = []
        for s in range(S):
            name = f'param_{s}'
            anchors = torch.round(yg[:, s * C:(s + 1) * C]) * 0.5
            if s == 0:
                stage = ParamStage0(model.params[s])
                export_graph(stage, (hyper, anchors), ['hyper', 'anchors'], ['mean', 'scale'], os.path.join(tmp, name + '.onnx'))
                mean, scale = stage(hyper, anchors)
                ins = {'hyper': write_f32(check, f'{name}.hyper', hyper), 'anchors': write_f32(check, f'{name}.anchors', anchors)}
            else:
                prev = torch.cat(prev_parts, 1)
                stage = ParamStage(model.params[s])
                export_graph(stage, (hyper, prev, anchors), ['hyper', 'prev', 'anchors'], ['mean', 'scale'], os.path.join(tmp, name + '.onnx'))
                mean, scale = stage(hyper, prev, anchors)
                ins = {'hyper': write_f32(check, f'{name}.hyper', hyper), 'prev': write_f32(check, f'{name}.prev', prev),
                       'anchors': write_f32(check, f'{name}.anchors', anchors)}
            ref['stages'][name] = {'inputs': ins, 'outputs': {'mean': write_f32(check, f'{name}.mean', mean),
                                                              'scale': write_f32(check, f'{name}.scale', scale)}}
            prev_parts.append(torch.round(yg[:, s * C:(s + 1) * C]))

        y_hat = torch.round(yg) * inv_gain
        export_graph(model.g_s, (y_hat,), ['y_hat'], ['x_hat'], os.path.join(tmp, 'g_s.onnx'))
        x_hat = model.g_s(y_hat)
        ref['stages']['g_s'] = {'inputs': {'y_hat': write_f32(check, 'g_s.y_hat', y_hat)},
                                'outputs': {'x_hat': write_f32(check, 'g_s.x_hat', x_hat)}}
        prior_tables = model.prior_z.pmf_tables()

        prog_meta = None
        if args.prog:
            from progressive import features
            heads, prog_meta = load_prog_heads(args.prog, M)
            gain7, _ = model.gains(torch.tensor([float(len(model.lambdas) - 1)]))
            yg7 = y * gain7
            hyper7 = model.h_s(torch.round(model.h_a(yg7)))
            stage = ProgParamStage(heads['param'])
            export_graph(stage, (hyper7,), ['hyper'], ['mean', 'scale'], os.path.join(tmp, 'prog_param.onnx'))
            pm, ps = stage(hyper7)
            ref['stages']['prog_param'] = {'inputs': {'hyper': write_f32(check, 'prog_param.hyper', hyper7)},
                                           'outputs': {'mean': write_f32(check, 'prog_param.mean', pm),
                                                       'scale': write_f32(check, 'prog_param.scale', ps)}}
            s7 = torch.round(yg7 - pm)
            half = 121
            lo = torch.div(s7.clamp(-half, half) + half, 3, rounding_mode='floor') * 3 - half
            feat, _ = features(pm, ps, lo, lo + 2)
            stage = CrrStage(heads['crr'])
            export_graph(stage, (feat,), ['feat'], ['shift', 'log_scale'], os.path.join(tmp, 'prog_crr.onnx'))
            sh, ls = stage(feat)
            ref['stages']['prog_crr'] = {'inputs': {'feat': write_f32(check, 'prog_crr.feat', feat)},
                                         'outputs': {'shift': write_f32(check, 'prog_crr.shift', sh),
                                                     'log_scale': write_f32(check, 'prog_crr.log_scale', ls)}}
            export_graph(heads['cdr'], (feat,), ['feat'], ['delta'], os.path.join(tmp, 'prog_cdr.onnx'))
            dl = heads['cdr'](feat)
            ref['stages']['prog_cdr'] = {'inputs': {'feat': write_f32(check, 'prog_cdr.feat', feat)},
                                         'outputs': {'delta': write_f32(check, 'prog_cdr.delta', dl)}}
        temporal_meta = None
        if args.temporal:
            from temporal import TemporalPrior
            tck = torch.load(args.temporal, map_location='cpu')
            tp = TemporalPrior(M)
            tp.load_state_dict({n: t.float() for n, t in tck['temporal'].items()})
            tp.eval()
            temporal_meta = tck['meta']
            y_pred = yg + 0.3 * torch.randn(yg.shape, generator=g)
            export_graph(tp, (hyper, y_pred), ['hyper', 'y_pred'], ['mean', 'scale'], os.path.join(tmp, 'temporal.onnx'))
            tm, ts = tp(hyper, y_pred)
            ref['stages']['temporal'] = {'inputs': {'hyper': write_f32(check, 'temporal.hyper', hyper), 'y_pred': write_f32(check, 'temporal.y_pred', y_pred)},
                                         'outputs': {'mean': write_f32(check, 'temporal.mean', tm), 'scale': write_f32(check, 'temporal.scale', ts)}}

    with open(os.path.join(check, 'reference.json'), 'w') as f:
        json.dump(ref, f)

    stages = ['g_a', 'h_a', 'h_s'] + [f'param_{s}' for s in range(S)] + ['g_s']
    if args.prog:
        stages += ['prog_param', 'prog_crr', 'prog_cdr']
    if args.temporal:
        stages += ['temporal']
    files = stage_files(tmp, stages, args.fp32)
    data = {
        'gain': model.gain.detach().abs().tolist(),
        'invGain': model.inv_gain.detach().abs().tolist(),
        'priorZ': prior_tables,
    }
    data_json = json.dumps(data, separators=(',', ':'), sort_keys=True)
    with open(os.path.join(tmp, 'tables.json'), 'w') as f:
        f.write(data_json)
    files['tables'] = {'path': 'tables.json', 'sha256': sha256_file(os.path.join(tmp, 'tables.json')),
                       'bytes': len(data_json.encode())}
    model_hash = hashlib.sha256(''.join(f'{k}:{files[k]["sha256"]};' for k in sorted(files)).encode()).hexdigest()
    meta = ck.get('meta', {})
    manifest = {
        'id': codec_id,
        'format': 1,
        'kind': 'image',
        'method': 'mean-scale hyperprior; channel slices x checkerboard context; gain-unit variable rate',
        'config': cfg,
        'slices': S,
        'sliceChannels': C,
        'paddingFactor': PAD,
        'downsampling': {'y': 16, 'z': 64},
        'colour': {'space': 'srgb', 'matrix': 'rgb', 'range': 'full', 'bitDepth': 8, 'layout': 'NCHW float32 in [0,1]'},
        'checkerboard': 'anchor where (row + col) is even, in y coordinates',
        'quality': {'min': 1, 'max': 100, 'lambdas': cfg['lambdas'],
                    'rateIndex': 'q = (quality - 1) / 99 * (lambdas.length - 1); gains interpolated geometrically between floor(q) and floor(q)+1'},
        'scaleTable': SCALE_TABLE,
        'files': files,
        'modelHash': model_hash,
        'training': {**{k: meta.get(k) for k in ('step', 'cpu_hours', 'gpu_hours', 'wall_hours', 'samples')},
                     'weights': 'moving average' if args.weights == 'ema' and ck.get('ema') is not None else 'raw',
                     **({'finetune': meta['finetune']} if 'finetune' in meta else {})},
        'opset': OPSET,
        'weights': 'float32' if args.fp32 else 'float16 storage, float32 compute',
        'fp16Cost': fp16_cost,
    }
    if prog_meta is not None:
        manifest['method'] += '; trit-plane progressive mode (hyperprior-only mean/scale, CRR and CDR context heads)'
        manifest['progressive'] = {
            'stages': ['prog_param', 'prog_crr', 'prog_cdr'],
            'features': '[yhat, ln scale, planes left] x M channels; yhat = mean + conditional mean of N(0, scale) on the interval',
            'crr': 'next trit from N(scale * shift, scale * exp(clamp(log_scale, -3, 3))) over the interval thirds',
            'cdr': 'yhat += 0.5 * min(W, 2 * scale) * delta for unfinished elements (interval width W > 1)',
            'heads': {k: prog_meta.get(k) for k in ('backbone_sha256', 'backbone_step', 'steps', 'samples', 'seed', 'cpu_seconds')},
            # the split of a plane into CRR passes that the heads were trained for, and that new
            # files use by default: cumulative fractions by rank, or the checkerboard of format 1
            'passes': args.prog_passes or prog_meta.get('passes', 'checkerboard'),
        }
    if temporal_meta is not None:
        manifest['method'] += '; P-frames: block motion, temporal prior over g_a of the motion-compensated previous frame'
        manifest['temporal'] = {
            'stage': 'temporal',
            'inputs': 'hyper = h_s(z_hat) of the current frame; y_pred = g_a(prediction) * gain, the prediction being the previous decoded frame moved by the coded block motion',
            'outputs': 'mean, scale of every latent element (one pass, no spatial context)',
            'heads': {k: temporal_meta.get(k) for k in ('backbone_sha256', 'backbone_step', 'steps', 'pairs', 'seed', 'cpu_seconds')},
        }
    check_result = finish_export(tmp, check, out, manifest, args.no_check)
    print(json.dumps({'out': out, 'modelHash': model_hash, 'check': check_result}, indent=1))


if __name__ == '__main__':
    main()
