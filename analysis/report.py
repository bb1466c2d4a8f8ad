#!/usr/bin/python3
"""One report of the study's questions from the result files present:

    report.py RUNS_DIR [-o OUT_DIR]     (make report; make run uses runs/mini)

reads every *.h5 in RUNS_DIR (the task is each file's `task` attribute),
draws the figures with the other analysis scripts into OUT_DIR (default
RUNS_DIR/report) and writes OUT_DIR/REPORT.md: the study's numbers next to
SpikeBridge's, each with the command, ranks, threads and version that
produced it (from the file's /provenance). What was not run says so.
"""
import argparse
import glob
import os
import subprocess
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import convert_plot  # noqa: E402

# The CS771 study's numbers, Diehl & Cook 2015's and Rueckauer et al. 2017's.
STUDY = {
    "cnn-vgg-s": "99.49 %",
    "lstm-rows": "~98.9 %",
    "lstm-cols": "~98.9 %",
    "cnn-vgg-s x5": "99.60 %",
    "lstm-rows + lstm-cols": "99.38 %",
}
DIEHL_COOK = {100: 82.9, 400: 87.0, 1600: 91.9, 6400: 95.0}


def effective(f):
    """The job's effective settings as a dict (section.key -> value)."""
    if "provenance/effective" not in f:
        return {}
    text = f["provenance/effective"][()]
    text = text.decode() if isinstance(text, bytes) else text
    return dict(line.split(" = ", 1) for line in text.splitlines() if " = " in line)


def source(f, path):
    p = f["provenance"].attrs if "provenance" in f else {}
    cmd = p.get("command_line", "?")
    return (f"`{cmd}` ({p.get('ranks', '?')} rank(s) x {p.get('threads', '?')} thread(s), "
            f"{p.get('version', '?')}, {p.get('created', '?')}; `{os.path.basename(path)}`)")


def scan(runs):
    found = {}
    for path in sorted(glob.glob(os.path.join(runs, "*.h5"))):
        try:
            with h5py.File(path, "r") as f:
                task = f.attrs.get("task", "")
                task = task.decode() if isinstance(task, bytes) else task
                found.setdefault(task, []).append(path)
        except OSError:
            print(f"report: {path}: not a readable HDF5 file, skipped", file=sys.stderr)
    return found


def pct(x):
    return f"{100 * x:.2f} %"


def ann_rows(found):
    rows = []
    for path in found.get("train", []):
        with h5py.File(path, "r") as f:
            name = f["model"].attrs["name"]
            name = name.decode() if isinstance(name, bytes) else name
            e = effective(f)
            sub = "" if e.get("data.train", "0") == "0" else f" on {e['data.train']} training images"
            rows.append((f"{name}{sub}, {e.get('train.epochs', '?')} epochs", STUDY.get(name, "—"),
                         pct(f["test"].attrs["accuracy"]), source(f, path)))
    for path in found.get("ensemble", []):
        with h5py.File(path, "r") as f:
            names = [f[f"members/{m}"].attrs["arch_name"] for m in f["members"]]
            names = [n.decode() if isinstance(n, bytes) else n for n in names]
            label = " + ".join(sorted(set(names))) if len(set(names)) > 1 else f"{names[0]} x{len(names)}"
            e = effective(f)
            sub = "" if e.get("data.train", "0") == "0" else f" on {e['data.train']} training images"
            members = ", ".join(pct(f[f"members/{m}"].attrs["test_accuracy"]) for m in f["members"])
            a = f["ensemble"].attrs
            rows.append((f"ensemble {label}{sub}", STUDY.get(label, "—"),
                         f"{pct(a['accuracy_mean'])} (vote {pct(a['accuracy_vote'])}; members {members})",
                         source(f, path)))
    return rows


def stdp_rows(found):
    rows = []
    for path in found.get("stdp-mnist", []):
        with h5py.File(path, "r") as f:
            a, e = f["stdp"].attrs, effective(f)
            n = int(a["neurons"])
            enc = e.get("input.encoder", "poisson")
            ntrain = e.get("data.train", "0")
            sub = "all" if ntrain == "0" else ntrain
            paper = f"{DIEHL_COOK[n]} %" if n in DIEHL_COOK and ntrain == "0" else "—"
            rows.append((n, enc, f"{sub} x {e.get('stdp.epochs', '?')} epochs", paper,
                         pct(a["accuracy_mean_rate"]), pct(a["accuracy_proportion"]),
                         f"{a['train_ms_per_image']:.1f}", source(f, path), path))
    return sorted(rows)


def run_script(script, *args):
    r = subprocess.run([sys.executable, os.path.join(HERE, script), *args], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"report: {script} {' '.join(args)} failed:\n{r.stderr}", file=sys.stderr)
        return None
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs")
    ap.add_argument("-o", "--output")
    args = ap.parse_args()
    out = args.output or os.path.join(args.runs, "report")
    os.makedirs(out, exist_ok=True)
    found = scan(args.runs)
    md = ["# How close are ANNs to the brain? — SpikeBridge report", "",
          f"Result files read from `{args.runs}/`. Every number below comes from the file named "
          "in its row, with the command that produced it. Figures are in this folder.", ""]

    md += ["## 1. Deep networks on MNIST (the study's CNN and LSTMs)", "",
           "| model | study | SpikeBridge | produced by |", "|---|---:|---:|---|"]
    rows = ann_rows(found)
    md += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} |" for r in rows] or ["| — | | not run | |"]
    ens = found.get("ensemble", []) + found.get("train", [])
    if ens and run_script("ensemble_table.py", *ens, "-o", os.path.join(out, "ensemble_table.png")) is not None:
        md += ["", "![members and ensembles](ensemble_table.png)"]

    md += ["", "## 2. Rate code = ReLU: a trained CNN as integrate-and-fire neurons", ""]
    for path in found.get("convert", []):
        d = convert_plot.read(path)
        png = os.path.splitext(os.path.basename(path))[0] + "_convert.png"
        convert_plot.draw(d, os.path.join(out, png))
        with h5py.File(path, "r") as f:
            src = source(f, path)
        s = convert_plot.smallest_steps(d, 0.993)
        md += [f"Model `{d['model']}`, {d['images']} test images; produced by {src}.",
               "Rueckauer et al. 2017 report no loss on MNIST; target here: ≥ 99.3 % at the fewest "
               f"steps, reached at **{s} steps**." if s else
               "≥ 99.3 % was not reached at any listed step count.", "",
               convert_plot.table(d), "", f"![conversion]({png})", ""]
    if not found.get("convert"):
        md += ["Not run (`jobs/convert.ini`).", ""]

    md += ["## 3. Unsupervised STDP learning (Diehl & Cook 2015) and input codes", "",
           "| N | input code | training images | paper | mean rate | proportion | ms per training image | produced by |",
           "|---:|---|---|---:|---:|---:|---:|---|"]
    srows = stdp_rows(found)
    md += [f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[6]} | {r[7]} |" for r in srows] \
        or ["| — | | | | not run | | | |"]
    if srows:
        big = max(srows, key=lambda r: r[0])
        png = f"receptive_fields_{big[0]}_{big[1]}.png"
        if run_script("receptive_fields.py", big[8], "-o", os.path.join(out, png)) is not None:
            md += ["", f"![receptive fields, N = {big[0]}, {big[1]} input]({png})"]
    precise = [p for p in found.get("encode", [])]
    if precise and os.path.exists(os.path.join(HERE, "precise_timing.py")):
        if run_script("precise_timing.py", "--mnist-file", precise[0], "-o", os.path.join(out, "precise_timing.png")) is not None:
            md += ["", "The study's Figure 5: precisely timed spikes from the `integrate` encoder "
                   f"(`{os.path.basename(precise[0])}`).", "", "![precise timing](precise_timing.png)"]

    md += ["", "## 4. The STDP window (the study's Figure 3)", ""]
    for path in found.get("stdp-window", []):
        text = run_script("stdp_window.py", path, "-o", os.path.join(out, "stdp_window.png"))
        with h5py.File(path, "r") as f:
            src = source(f, path)
        if text is not None:
            md += [f"Produced by {src}.", "", "```", text.strip(), "```", "", "![STDP window](stdp_window.png)", ""]
    if not found.get("stdp-window"):
        md += ["Not run (`jobs/stdp_window.ini`).", ""]

    report = os.path.join(out, "REPORT.md")
    with open(report + ".part", "w") as f:
        f.write("\n".join(md) + "\n")
    os.replace(report + ".part", report)
    print(report)


if __name__ == "__main__":
    main()
