#!/usr/bin/python3
"""signal_in_phase.py CKDIR PHASE PATTERN: waits until the stdp-mnist
checkpoints in CKDIR (rank 0's, as named by `latest`) are mid-way through
phase PHASE (0 training, 1 labelling, 2 evaluation; past its first image),
then sends SIGUSR1 to every process whose command line holds PATTERN.
Exits 1 when that does not happen within 120 s (the job ended first)."""
import os
import signal
import subprocess
import sys
import time

import h5py

ckdir, phase, pattern = sys.argv[1], int(sys.argv[2]), sys.argv[3]
end = time.time() + 120
while time.time() < end:
    try:
        slot = open(os.path.join(ckdir, "latest")).read().split()[0]
        with h5py.File(os.path.join(ckdir, f"rank0of2.{slot}.h5"), "r") as f:
            user = f["user"][:3]
        if user[0] == phase and user[2] > 0:
            pids = [p for p in subprocess.run(["pgrep", "-f", pattern], capture_output=True,
                                              text=True).stdout.split() if int(p) != os.getpid()]
            for p in pids:
                os.kill(int(p), signal.SIGUSR1)
            print(f"signal_in_phase: SIGUSR1 to {len(pids)} processes at phase {phase}, image {user[2]}")
            sys.exit(0)
        if user[0] > phase:
            break
    except (OSError, KeyError, IndexError, ValueError):
        pass
    time.sleep(0.01)
print(f"signal_in_phase: phase {phase} never seen mid-way in {ckdir}")
sys.exit(1)
