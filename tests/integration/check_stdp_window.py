#!/usr/bin/python3
"""Checks a stdp-window result: for the pair rule, dw > 0 for dt >= 0 and
dw < 0 for dt < 0, and the time constants recovered from the curve (a
log-linear fit, and the offset where dw falls to 1/e of its value at 0)
within 2 % of tau_pre / tau_post, the amplitudes within 2 % of A+ / A- per pair;
for the Bengio rule, positive for small positive dt and negative for small
negative dt. Prints the worst relative difference.

    check_stdp_window.py RESULT.h5
"""
import math
import sys

import h5py
import numpy as np

with h5py.File(sys.argv[1], "r") as f:
    g = f["window"]
    x, pair, beng = g["offset_ms"][:], g["dw_pair"][:], g["dw_bengio"][:]
    a = dict(g.attrs)
    pair, beng = pair / a["pairs"], beng / a["pairs"]
    assert f.attrs["task"] == "stdp-window", f.attrs["task"]
    assert "provenance" in f, "no /provenance"

assert x.shape == pair.shape == beng.shape and x.size > 10, (x.shape, pair.shape, beng.shape)
assert np.all(np.diff(x) > 0), "offsets not ascending"
assert np.all(pair[x >= 0] > 0), "pair rule: dw <= 0 at some dt >= 0"
assert np.all(pair[x < 0] < 0), "pair rule: dw >= 0 at some dt < 0"

rel = {}
for side, sign, amp, tau in ((1, 1, "a_plus", "tau_plus_ms"), (-1, -1, "a_minus", "tau_minus_ms")):
    on = x >= 0 if side > 0 else x < 0
    order = np.argsort(np.abs(x[on]))
    xs, ys = np.abs(x[on])[order], (pair[on] * sign)[order]
    slope, icpt = np.polyfit(xs, np.log(ys), 1)
    rel[f"fit {tau}"] = -1 / slope / a[tau] - 1
    rel[f"fit {amp}"] = math.exp(icpt) / a[amp] - 1
    # the 1/e point, interpolated in log space between the two offsets around it
    y0 = math.exp(icpt)
    k = int(np.argmax(ys < y0 / math.e))
    assert k > 0, f"{tau}: dw never falls to 1/e of its value at 0"
    x1, x2, l1, l2 = xs[k - 1], xs[k], math.log(ys[k - 1]), math.log(ys[k])
    at = x1 + (math.log(y0) - 1 - l1) * (x2 - x1) / (l2 - l1)
    rel[f"1/e {tau}"] = at / a[tau] - 1
worst = max(rel, key=lambda k: abs(rel[k]))
print("pair rule: " + ", ".join(f"{k} {100 * v:+.3f} %" for k, v in rel.items()))
print(f"pair rule: worst relative difference {100 * abs(rel[worst]):.3g} % ({worst})")
assert abs(rel[worst]) < 0.02, f"pair rule: {worst} off by {100 * rel[worst]:+.2f} %"

small = (np.abs(x) <= 10) & (x != 0)
pos, neg = beng[small & (x > 0)], beng[small & (x < 0)]
print(f"bengio rule: dw in [{pos.min():.3g}, {pos.max():.3g}] for 0 < dt <= 10 ms, "
      f"[{neg.min():.3g}, {neg.max():.3g}] for -10 <= dt < 0 ms")
assert pos.size and np.all(pos > 0), "bengio rule: not positive for small positive dt"
assert neg.size and np.all(neg < 0), "bengio rule: not negative for small negative dt"
print("stdp window checks passed")
