#!/usr/bin/python3
"""The study's Figure 3 from a stdp-window result (jobs/stdp_window.ini): the
weight change against the offset dt = t_post - t_pre for the pair STDP rule
and for the rule of Bengio et al. 2015, side by side; prints, for the pair
rule, the A+, tau+, A-, tau- fitted to the curve against the rule's own.

    stdp_window.py runs/stdp_window.h5 [-o OUT.png]
"""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def fit_side(x, dw, side, sign):
    """|dw| = A exp(-|x|/tau) by least squares of ln|dw| on one side (x >= 0
    or x < 0), over points of the given sign above 1e-6 of the largest."""
    on = (x >= 0) if side > 0 else (x < 0)
    y = dw[on] * sign
    xs = np.abs(x[on])
    keep = y > 1e-6 * y.max() if y.size and y.max() > 0 else np.zeros_like(y, bool)
    if keep.sum() < 2:
        return float("nan"), float("nan")
    slope, icpt = np.polyfit(xs[keep], np.log(y[keep]), 1)
    return float(np.exp(icpt)), float(-1 / slope) if slope < 0 else float("inf")


def read(path):
    with h5py.File(path, "r") as f:
        if "window" not in f:
            sys.exit(f"stdp_window: {path} has no /window (not a stdp-window result)")
        g = f["window"]
        return g["offset_ms"][:], g["dw_pair"][:], g["dw_bengio"][:], dict(g.attrs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("-o", "--output")
    args = ap.parse_args()
    out = args.output or os.path.splitext(args.file)[0] + "_window.png"
    x, pair, beng, a = read(args.file)
    # per pair, to compare with the rule's parameters
    pair, beng = pair / a["pairs"], beng / a["pairs"]

    ap_, tp = fit_side(x, pair, +1, +1)
    am, tm = fit_side(x, pair, -1, -1)
    print("pair rule      measured   rule")
    print(f"  A+         {ap_:10.5g} {a['a_plus']:10.5g}   ({100 * (ap_ / a['a_plus'] - 1):+.3f} %)")
    print(f"  tau+ (ms)  {tp:10.5g} {a['tau_plus_ms']:10.5g}   ({100 * (tp / a['tau_plus_ms'] - 1):+.3f} %)")
    print(f"  A-         {am:10.5g} {a['a_minus']:10.5g}   ({100 * (am / a['a_minus'] - 1):+.3f} %)")
    print(f"  tau- (ms)  {tm:10.5g} {a['tau_minus_ms']:10.5g}   ({100 * (tm / a['tau_minus_ms'] - 1):+.3f} %)")
    bp, btp = fit_side(x, beng, +1, +1)
    bm, btm = fit_side(x, beng, -1, -1)
    ip, im = int(np.argmax(beng)), int(np.argmin(beng))
    print(f"Bengio rule    largest +{beng[ip]:.4g} at {x[ip]:+g} ms, largest {beng[im]:.4g} at {x[im]:+g} ms")
    print(f"  fits: + side {bp:.4g} exp(-dt/{btp:.4g} ms) (tau_rise {a['bengio_tau_rise_ms']:g}), "
          f"- side -{bm:.4g} exp(dt/{btm:.4g} ms) (tau_avg {a['bengio_tau_avg_ms']:g})")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    panels = (
        (axes[0], pair, "tab:blue",
         f"pair STDP: A+ {a['a_plus']:g}, A- {a['a_minus']:g}, "
         f"tau+ {a['tau_plus_ms']:g} ms, tau- {a['tau_minus_ms']:g} ms", "weight change per pair"),
        (axes[1], beng, "tab:red",
         f"Bengio et al. 2015: eta dV/dt of a LIF (tau_m {a['bengio_tau_m_ms']:g}, "
         f"rise {a['bengio_tau_rise_ms']:g}, avg {a['bengio_tau_avg_ms']:g} ms)", "eta x dV/dt per pair"),
    )
    for ax, dw, colour, title, ylabel in panels:
        ax.axhline(0, color="0.6", lw=0.8)
        ax.axvline(0, color="0.6", lw=0.8)
        ax.plot(x, dw, ".", color=colour, ms=3)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("t_post - t_pre (ms)")
        ax.set_ylabel(ylabel)
    xf = np.linspace(0, x.max(), 200) if x.max() > 0 else np.array([])
    axes[0].plot(xf, ap_ * np.exp(-xf / tp), color="k", lw=0.8, label=f"fit: tau+ {tp:.3g} ms")
    xf = np.linspace(x.min(), 0, 200) if x.min() < 0 else np.array([])
    axes[0].plot(xf, -am * np.exp(xf / tm), color="0.3", lw=0.8, ls="--", label=f"fit: tau- {tm:.3g} ms")
    axes[0].legend(fontsize=8)
    fig.suptitle("The STDP window (study, Figure 3): pre before post potentiates, post before pre depresses",
                 fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=90)
    print(f"stdp_window: wrote {out}")


if __name__ == "__main__":
    main()
