"""Carry expression offsets authored on the neutral HM08 mesh over to any identity.

The Face Units were sculpted on the base mesh; added unchanged to a baby's head (about two
thirds the size) they would open the jaw by an adult's centimetres. Each offset is instead
scaled by how much the vertex's neighbourhood (about 4 cm across) grew or shrank from the
base mesh to the identity. Only a scale: local rotations estimated on the thin lip and lid
patches are noisy enough to crumple the mouth when the jaw opens (checked by eye).

The scale is measured at a thinned set of sample vertices (about one per centimetre cube)
and spread to every vertex by a fixed interpolation, which keeps it cheap and smooth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class Neighbourhoods:
    """Sample vertices, their weighted neighbours, and the interpolation back to all vertices.

    i, j : (p,) int32 vertex ids of sample -> neighbour pairs (same group, j != i) ·
    w : (p,) float64 Gaussian weights · pair_to_sample : (s, p) sparse sum over each sample's
    pairs · base_len : (s,) weighted sum of squared base-mesh distances per sample ·
    spread : (n, s) sparse row-normalised interpolation from samples to vertices.
    """

    i: np.ndarray
    j: np.ndarray
    w: np.ndarray
    pair_to_sample: sp.csr_matrix
    base_len: np.ndarray
    spread: sp.csr_matrix


def neighbourhoods(
    base: np.ndarray, group: np.ndarray, radius: float = 0.04, spacing: float = 0.01, n_spread: int = 4
) -> Neighbourhoods:
    """Neighbourhoods on the (n, 3) base mesh (metres); pairs never cross ``group``s.

    Samples are the lowest vertex id in each occupied ``spacing`` cube of a group; each
    pairs with the group's samples within ``radius`` (Gaussian weights, sigma radius/2);
    every vertex reads the scale of its ``n_spread`` nearest samples of its group.
    """
    n = len(base)
    samples: list[np.ndarray] = []
    ii: list[np.ndarray] = []
    jj: list[np.ndarray] = []
    spread_r, spread_c, spread_w = [], [], []
    for g in np.unique(group):
        idx = np.flatnonzero(group == g)
        cell = np.floor(base[idx] / spacing).astype(np.int64)
        _, first = np.unique(cell, axis=0, return_index=True)
        cand = idx[np.sort(first)]
        offset = sum(len(s) for s in samples)
        samples.append(cand)
        tree = cKDTree(base[cand])
        for k, h in enumerate(tree.query_ball_point(base[cand], radius)):
            h = np.asarray(h, dtype=np.int64)
            h = h[cand[h] != cand[k]]
            ii.append(np.full(len(h), offset + k))
            jj.append(offset + h)
        kk = min(n_spread, len(cand))
        dist, nn = tree.query(base[idx], k=kk)
        dist, nn = dist.reshape(len(idx), kk), nn.reshape(len(idx), kk)
        w = 1.0 / np.maximum(dist, 1e-4)
        spread_r.append(np.repeat(idx, kk))
        spread_c.append((offset + nn).ravel())
        spread_w.append((w / w.sum(axis=1, keepdims=True)).ravel())
    samples = np.concatenate(samples)
    si = np.concatenate(ii)
    sj = np.concatenate(jj)
    i, j = samples[si], samples[sj]
    d = base[j] - base[i]
    d2 = np.einsum("pk,pk->p", d, d)
    w = np.exp(-d2 / (2.0 * (radius / 2.0) ** 2))
    s = len(samples)
    pair_to_sample = sp.csr_matrix((w, (si, np.arange(len(si)))), shape=(s, len(si)))
    spread = sp.csr_matrix(
        (np.concatenate(spread_w), (np.concatenate(spread_r), np.concatenate(spread_c))), shape=(n, s)
    )
    return Neighbourhoods(i.astype(np.int32), j.astype(np.int32), w, pair_to_sample, pair_to_sample @ d2, spread)


def local_scale(nb: Neighbourhoods, current: np.ndarray) -> np.ndarray:
    """(n,) float64 size of each vertex's neighbourhood on ``current`` relative to the base mesh.

    The RMS ratio of weighted neighbour distances at the samples, interpolated to vertices.
    """
    cur_d = current[nb.j] - current[nb.i]
    cur_len = nb.pair_to_sample @ np.einsum("pk,pk->p", cur_d, cur_d)
    scale = np.sqrt(np.where(nb.base_len > 0, cur_len / np.maximum(nb.base_len, 1e-30), 1.0))
    return nb.spread @ scale
