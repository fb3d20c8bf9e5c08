"""Train a small 68-point landmark regressor on facefarm data and report its NME.

A starting point to copy: render (or load) a dataset with facefarm's Python API, crop each face with
``facefarm.crop``, batch it with ``Dataset.to_torch()`` and a DataLoader, train, evaluate.

    python examples/train_landmarks.py --out out/landmarks -n 500 --ray   # renders 500 samples once (resumable)
    python examples/train_landmarks.py --data out/quickstart              # a dataset `facefarm render` wrote

Needs PyTorch (``pip install torch``); trains on a GPU if there is one, else in a few minutes on the CPU
(rendering takes about a second a sample on one core; ``--ray`` renders on every core). NME: the mean distance between predicted and true landmarks over the 68 iBUG points,
divided by the distance between the outer eye corners (points 36 and 45), as in 300-W.
"""

from __future__ import annotations

import argparse
import functools
import json
import time

import numpy as np
import torch
from torch import nn

import facefarm
from facefarm.dataset.augment import Op

POINTS = slice(0, 68)  # the 68 iBUG points (70 also has the two pupils)
OUTER_EYE_CORNERS = (36, 45)
AUGMENT = facefarm.Augment(affine=Op(0.5, strength=0.5), colour=Op(0.5), blur=Op(0.2))


def to_item(sample: facefarm.Sample, size: int, augment: bool) -> dict:
    """A sample as a training item: an aligned ``size`` px crop and its landmarks as fractions of the crop."""
    s = facefarm.crop(sample, size, scale=1.25)
    if augment:  # label-correct: the landmarks move with the pixels; seeded per item by torch's generator
        s = facefarm.augment(s, int(torch.randint(2**62, ())), AUGMENT)
    return {
        "image": torch.from_numpy(s.image.transpose(2, 0, 1).copy()).float() / 255,  # (3, size, size)
        "landmarks": torch.from_numpy(s.landmarks[POINTS]).float() / size,  # (68, 2), 0..1 of the crop
        "in_frame": torch.from_numpy(s.in_frame[POINTS].copy()),  # points outside the crop carry no loss
    }


def landmark_net(n_points: int = 68) -> nn.Module:
    """A small CNN: four stride-2 conv blocks, global average pooling, a linear head to (x, y) per point."""
    blocks, width = [], 3
    for out in (32, 64, 128, 256):
        blocks += [nn.Conv2d(width, out, 3, stride=2, padding=1), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
        width = out
    return nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, n_points * 2))


def nme(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Per-sample NME (B,) of (B, 68, 2) landmarks, normalised by the outer-eye-corner distance."""
    a, b = OUTER_EYE_CORNERS
    inter_ocular = (true[:, a] - true[:, b]).norm(dim=-1)
    return (pred - true).norm(dim=-1).mean(dim=-1) / inter_ocular


@torch.no_grad()
def evaluate(model: nn.Module, loader, device: str) -> float:
    model.eval()
    errors = [nme(model(b["image"].to(device)).view(-1, 68, 2).cpu(), b["landmarks"]) for b in loader]
    return float(torch.cat(errors).mean()) if errors else float("nan")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", help="a finished dataset (folder or URL) to load instead of rendering")
    p.add_argument("--out", default="out/landmarks", help="where to render when --data is not given")
    p.add_argument("-n", type=int, default=500, help="samples to render (default 500)")
    p.add_argument("--catalog", default="default", help="catalog to render: a path or a shipped name")
    p.add_argument("--ray", action="store_true", help="render on a local Ray, one worker per core")
    p.add_argument("--resolution", type=int, default=128, help="rendered image size in pixels (default 128)")
    p.add_argument("--size", type=int, default=64, help="crop size the network sees (default 64)")
    p.add_argument("--steps", type=int, default=300, help="optimiser steps (default 300)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (0: load in this one)")
    p.add_argument("--no-augment", action="store_true", help="train on the plain crops")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    # 1. the data: a finished dataset, or render one (resumable: a second run renders nothing)
    if args.data:
        ds = facefarm.load(args.data)
    else:
        resolution = {"render.resolution": [args.resolution, args.resolution]}  # as `--set` on the command line
        ds = facefarm.render(
            args.catalog,
            args.n,
            args.out,
            overrides=resolution,
            ray=args.ray,
            exports=False,
            datasheet=False,
            quiet=False,
        )
    train, val = ds.split("train"), ds.split("val")  # by identity: no face is in both
    if len(val) == 0:  # a tiny dataset may have no identity in val: evaluate on train (not a real NME)
        print(f"{ds}: no sample in the val split; evaluating on train")
        val = train
    print(f"{ds}: {len(train)} train, {len(val)} val samples, training on {device}")

    # 2. crops -> tensors -> batches (module-level functions: DataLoader workers pickle them)
    train_items = train.to_torch(functools.partial(to_item, size=args.size, augment=not args.no_augment))
    val_items = val.to_torch(functools.partial(to_item, size=args.size, augment=False))
    loader = torch.utils.data.DataLoader(
        train_items,
        batch_size=args.batch_size,
        shuffle=True,
        drop_last=len(train) > args.batch_size,
        num_workers=args.workers,
        persistent_workers=args.workers > 0,
    )
    val_loader = torch.utils.data.DataLoader(val_items, batch_size=args.batch_size, num_workers=args.workers)

    # 3. train: L1 on landmark coordinates (fractions of the crop), points outside the crop masked
    model = landmark_net().to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, total_steps=args.steps)
    nme_before = evaluate(model, val_loader, device)
    losses, step, t0 = [], 0, time.perf_counter()
    while step < args.steps:
        model.train()
        for batch in loader:
            pred = model(batch["image"].to(device)).view(-1, 68, 2)
            err = (pred - batch["landmarks"].to(device)).abs().sum(dim=-1)
            mask = batch["in_frame"].to(device).float()
            loss = (err * mask).sum() / mask.sum().clamp(min=1)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
            step += 1
            if step % 50 == 0 or step == args.steps:
                print(f"step {step}/{args.steps}: loss {np.mean(losses[-50:]):.4f}")
            if step == args.steps:
                break

    # 4. evaluate: NME on the held-out identities
    result = {
        "train_samples": len(train),
        "val_samples": len(val),
        "steps": step,
        "first_loss": losses[0],
        "last_loss": float(np.mean(losses[-5:])),
        "nme_before": nme_before,
        "nme": evaluate(model, val_loader, device),
        "seconds": time.perf_counter() - t0,
    }
    print(f"val NME {result['nme']:.4f} (untrained {nme_before:.4f}) after {step} steps, {result['seconds']:.0f} s")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
