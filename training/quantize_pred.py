"""Add an int8 analysis transform for the prediction path to a P-frame codec (nc-video).

P-frames run g_a on the motion-compensated prediction only to feed the temporal prior, so
that graph may be cheaper than the encoder's own g_a: this script quantizes the codec's
g_a.onnx to int8 (QDQ: per-channel symmetric int8 weights, per-tensor uint8 activations
whose ranges are the minimum and maximum seen on training crops, for the four strided
convolutions; the GDN layers stay float), writes it as g_a_pred.onnx beside the others
and records it in manifest.json (files.g_a_pred, modelHash). Both coders then use it.

Usage:
  git show 8204661:training/checkpoints/nc-small.pt > /tmp/nc-small-48332.pt
  /usr/bin/python3 training/quantize_pred.py --ckpt /tmp/nc-small-48332.pt --codec codecs/nc-video
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import ImageCodec, checkpoint_weights  # noqa: E402
from train import load_crops  # noqa: E402


def activation_ranges(ckpt, crops, count, seed):
    """Min and max of the input and output of each strided conv of g_a on training crops."""
    ck = torch.load(ckpt, map_location='cpu')
    model = ImageCodec(**ck['config'])
    model.load_state_dict(checkpoint_weights(ck))
    model.eval()
    count = min(count, len(crops))
    idx = np.random.default_rng(seed).choice(len(crops), count, replace=False)
    x = torch.from_numpy(crops[np.sort(idx)]).permute(0, 3, 1, 2).float() / 255
    convs = [m for m in model.g_a.net if isinstance(m, torch.nn.Conv2d)]
    ranges = {}

    def hook(k):
        def record(_module, inputs, output):
            for key, t in ((f'in{k}', inputs[0]), (f'out{k}', output)):
                lo, hi = float(t.min()), float(t.max())
                old = ranges.get(key, [lo, hi])
                ranges[key] = [min(old[0], lo), max(old[1], hi)]
        return record

    for k, conv in enumerate(convs):
        conv.register_forward_hook(hook(k))
    with torch.no_grad():
        for i in range(0, count, 8):
            model.g_a(x[i:i + 8])
    return ranges, len(convs)


def uint8_params(lo, hi):
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = max(hi - lo, 1e-6) / 255.0
    return np.float32(scale), np.uint8(np.clip(round(-lo / scale), 0, 255))


def quantize(src, dst, ranges, expected):
    m = onnx.load(src)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    # weights stored as float16 initializers feed Cast nodes
    weight_of = {n.output[0]: numpy_helper.to_array(inits[n.input[0]]).astype(np.float32)
                 for n in g.node if n.op_type == 'Cast' and n.input[0] in inits}
    convs = [n for n in g.node if n.op_type == 'Conv' and n.input[1] in weight_of and weight_of[n.input[1]].shape[2] > 1]
    if len(convs) != expected:
        raise SystemExit(f'{src}: {len(convs)} strided convolutions, the model has {expected}')
    added_nodes, added_inits = [], []
    for k, n in enumerate(convs):
        w = weight_of[n.input[1]]
        ws = np.maximum(np.abs(w).reshape(w.shape[0], -1).max(1), 1e-8) / 127.0
        wq = np.clip(np.round(w / ws[:, None, None, None]), -127, 127).astype(np.int8)
        p = f'pred{k}'
        added_inits += [numpy_helper.from_array(wq, f'{p}_w'), numpy_helper.from_array(ws.astype(np.float32), f'{p}_w_scale'),
                        numpy_helper.from_array(np.zeros(w.shape[0], np.int8), f'{p}_w_zero')]
        added_nodes.append(helper.make_node('DequantizeLinear', [f'{p}_w', f'{p}_w_scale', f'{p}_w_zero'], [f'{p}_w_dq'], axis=0))
        for side in ('in', 'out'):
            scale, zero = uint8_params(*ranges[f'{side}{k}'])
            added_inits += [numpy_helper.from_array(np.array(scale), f'{p}_{side}_scale'), numpy_helper.from_array(np.array(zero), f'{p}_{side}_zero')]
        added_nodes += [helper.make_node('QuantizeLinear', [n.input[0], f'{p}_in_scale', f'{p}_in_zero'], [f'{p}_in_q']),
                        helper.make_node('DequantizeLinear', [f'{p}_in_q', f'{p}_in_scale', f'{p}_in_zero'], [f'{p}_in_dq'])]
        out = n.output[0]
        n.input[0], n.input[1], n.output[0] = f'{p}_in_dq', f'{p}_w_dq', f'{p}_out_f'
        added_nodes += [helper.make_node('QuantizeLinear', [f'{p}_out_f', f'{p}_out_scale', f'{p}_out_zero'], [f'{p}_out_q']),
                        helper.make_node('DequantizeLinear', [f'{p}_out_q', f'{p}_out_scale', f'{p}_out_zero'], [out])]
    g.initializer.extend(added_inits)
    g.node.extend(added_nodes)
    # drop what no longer feeds the output (the float weights of the quantized convolutions)
    while True:
        used = {x for n in g.node for x in n.input} | {o.name for o in g.output}
        dead = [n for n in g.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            g.node.remove(n)
    used = {x for n in g.node for x in n.input}
    for init in [i for i in g.initializer if i.name not in used]:
        g.initializer.remove(init)
    # topological order
    produced = {i.name for i in g.input} | {i.name for i in g.initializer}
    order, pending = [], list(g.node)
    while pending:
        rest = [n for n in pending if not all(x == '' or x in produced for x in n.input)]
        for n in pending:
            if n not in rest:
                order.append(n)
                produced.update(n.output)
        if len(rest) == len(pending):
            raise SystemExit('graph has a cycle')
        pending = rest
    del g.node[:]
    g.node.extend(order)
    onnx.checker.check_model(m)
    onnx.save(m, dst)


def sha256_file(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--ckpt', required=True, help='the backbone checkpoint the codec was exported from')
    ap.add_argument('--codec', required=True, help='codec folder (manifest.json, g_a.onnx)')
    ap.add_argument('--crops', default=os.path.join(HERE, 'cache', 'crops.npz'))
    ap.add_argument('--count', type=int, default=32, help='training crops for the activation ranges')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--smoke', action='store_true', help='without a crop cache, crops of the test fixtures (training/smoke.sh)')
    args = ap.parse_args()
    torch.set_num_threads(2)
    # the same crops as training (train.load_crops: the cache, or in smoke mode the fixtures)
    crops, _ = load_crops(argparse.Namespace(smoke=args.smoke, crops=args.crops, images=None, patch=64))
    ranges, convs = activation_ranges(args.ckpt, crops, args.count, args.seed)
    out = os.path.join(args.codec, 'g_a_pred.onnx')
    quantize(os.path.join(args.codec, 'g_a.onnx'), out + '.tmp', ranges, convs)
    os.replace(out + '.tmp', out)
    mpath = os.path.join(args.codec, 'manifest.json')
    with open(mpath) as f:
        manifest = json.load(f)
    files = manifest['files']
    files['g_a_pred'] = {'path': 'g_a_pred.onnx', 'sha256': sha256_file(out), 'bytes': os.path.getsize(out)}
    manifest['modelHash'] = hashlib.sha256(''.join(f'{k}:{files[k]["sha256"]};' for k in sorted(files)).encode()).hexdigest()
    manifest['predictionAnalysis'] = {
        'stage': 'g_a_pred', 'of': 'g_a', 'weights': 'int8 per channel, symmetric', 'activations': 'uint8 per tensor, min/max of training crops',
        'crops': args.count, 'seed': args.seed, 'ranges': {k: [round(v[0], 4), round(v[1], 4)] for k, v in sorted(ranges.items())},
    }
    with open(mpath + '.tmp', 'w') as f:
        json.dump(manifest, f, indent=1)
        f.write('\n')
    os.replace(mpath + '.tmp', mpath)
    print(json.dumps({'out': out, 'modelHash': manifest['modelHash'], 'bytes': files['g_a_pred']['bytes']}))


if __name__ == '__main__':
    main()
