#!/usr/bin/env python3
"""Print the learning curve of a run as a Markdown table: validation bpp and PSNR (held-out
training-set photos, never Kodak) at each rate index, against CPU- and GPU-hours. For a BSQ
run (training/bsq.py) the columns are the group counts, with bpp / PSNR / MS-SSIM. Rows that
also validated the moving average of the weights (`val_ema`) show it on a second line.

    /usr/bin/python3 training/curve.py training/logs/nc-small.jsonl [--every 1.0]
"""
import argparse
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('log')
    ap.add_argument('--every', type=float, default=0.5, help='at most one row per this many CPU-hours')
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.log) if '"val"' in line]
    rows = [r for r in rows if r.get('type') == 'val' and r['val']]
    if not rows:
        print('no validation records yet')
        return
    bsq = 'groups' in rows[-1]['val'][0]
    if bsq:
        cols = [f"{v['groups']} groups bpp / PSNR / MS-SSIM" for v in rows[-1]['val']]
    else:
        cols = [f"q={v['q']:g} bpp / PSNR" for v in rows[-1]['val']]
    print('| step | CPU-h | GPU-h | ' + ' | '.join(cols) + ' |')
    print('|' + '---|' * (3 + len(cols)))
    last = None
    for i, r in enumerate(rows):
        hours = r['cpu_hours'] + r.get('gpu_hours', 0)
        if last is not None and hours - last < args.every and i != len(rows) - 1:
            continue
        last = hours
        def cells(vals):
            if bsq:
                return ' | '.join(f"{v['bpp']:.3f} / {v['psnr']:.2f} / {v['msssim']:.3f}" for v in vals)
            return ' | '.join(f"{v['bpp']:.3f} / {v['psnr']:.2f}" for v in vals)
        print(f"| {r['step']} | {r['cpu_hours']:.2f} | {r.get('gpu_hours', 0):.2f} | {cells(r['val'])} |")
        if r.get('val_ema'):
            print(f"| {r['step']} (average) | | | {cells(r['val_ema'])} |")


if __name__ == '__main__':
    main()
