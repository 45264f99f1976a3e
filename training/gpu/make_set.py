#!/usr/bin/env python3
"""Pick a compact set of training photos to carry to a GPU machine (the whole working tree
that travels is limited to 64 MiB). The validation images (same hash rule as make_crops.py)
come first; the rest are taken in a seeded random order until the budget is reached.

    /usr/bin/python3 training/gpu/make_set.py --src ../shared/data/train --out training/cache/gpu-set --mib 30
"""
import argparse
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from make_crops import is_validation  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--src', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--mib', type=float, default=30)
    ap.add_argument('--seed', type=int, default=5)
    args = ap.parse_args()
    photos = sorted(n for n in os.listdir(args.src) if n.lower().endswith('.webp'))
    val = [n for n in photos if is_validation(n)]
    names = [n for n in photos if not is_validation(n)]
    random.Random(args.seed).shuffle(names)
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    budget, used, taken = args.mib * 2 ** 20, 0, 0
    # the validation images come along (make_crops.py holds them out again) so that the
    # GPU run's learning curve is measured on the same images as the CPU runs
    for n in val + names:
        size = os.path.getsize(os.path.join(args.src, n))
        if used + size > budget:
            continue
        shutil.copyfile(os.path.join(args.src, n), os.path.join(args.out, n))
        used += size
        taken += 1
    print(f'{taken} of {len(photos)} images ({len(val)} for validation), {used / 2 ** 20:.1f} MiB -> {args.out}')


if __name__ == '__main__':
    main()
