#!/usr/bin/env python3
"""Build the training crop cache from ../shared/data/train.

The split is decided by a hash of each file name, so it is the same on every machine:
about 1 image in 20 is held out for validation (kept whole, centre-cropped), the rest
give random square crops with random flips. Output: uint8 arrays in a .npz file.

    /usr/bin/python3 training/make_crops.py --src ../shared/data/train --out training/cache/crops.npz

Kodak is never read here: it is for evaluation only.
"""
import argparse
import hashlib
import os

import numpy as np
from PIL import Image


def is_validation(name: str) -> bool:
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 20 == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--src', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data', 'train'))
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), 'cache', 'crops.npz'))
    ap.add_argument('--size', type=int, default=256, help='crop side in pixels')
    ap.add_argument('--per-image', type=int, default=24, help='random crops per training image')
    ap.add_argument('--val-size', type=int, default=512, help='centre crop side of validation images')
    ap.add_argument('--limit', type=int, default=0, help='use only the first N images (smoke runs)')
    ap.add_argument('--seed', type=int, default=1234)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    names = sorted(n for n in os.listdir(args.src) if n.lower().endswith(('.webp', '.png', '.jpg', '.jpeg')))
    if args.limit:
        names = names[: args.limit]
    train, val, val_names = [], [], []
    s = args.size
    for name in names:
        img = np.asarray(Image.open(os.path.join(args.src, name)).convert('RGB'))
        h, w, _ = img.shape
        if is_validation(name):
            v = min(args.val_size, h, w) // 64 * 64
            top, left = (h - v) // 2, (w - v) // 2
            val.append(img[top:top + v, left:left + v])
            val_names.append(name)
            continue
        if h < s or w < s:
            continue
        for _ in range(args.per_image):
            top = int(rng.integers(0, h - s + 1))
            left = int(rng.integers(0, w - s + 1))
            crop = img[top:top + s, left:left + s]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            if rng.random() < 0.5:
                crop = crop[::-1, :]
            train.append(np.ascontiguousarray(crop))
    # validation images may differ in size: keep the smallest common square so they stack
    vs = min(v.shape[0] for v in val) if val else s
    val = [v[(v.shape[0] - vs) // 2:(v.shape[0] - vs) // 2 + vs, (v.shape[1] - vs) // 2:(v.shape[1] - vs) // 2 + vs] for v in val]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + '.tmp.npz'
    np.savez(tmp, train=np.stack(train), val=np.stack(val) if val else np.zeros((0, vs, vs, 3), np.uint8),
             val_names=np.array(val_names))
    os.replace(tmp, args.out)
    print(f'{len(train)} training crops of {s}x{s}, {len(val)} validation images of {vs}x{vs} -> {args.out}')


if __name__ == '__main__':
    main()
