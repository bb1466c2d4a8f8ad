"""What every benchmark says about where and how it ran, and the environment
its mpirun needs (root in a container, more ranks than cores, no binding,
no single-copy transport), so the benchmarks cannot drift apart on them."""
import os
import subprocess

MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_hwloc_base_binding_policy="none",
               OMPI_MCA_btl_vader_single_copy_mechanism="none")


def cpu_model():
    with open("/proc/cpuinfo") as f:
        return next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")


def build():
    """The binary's own version: the working tree may travel without .git."""
    r = subprocess.run(["bin/spikebridge", "version"], capture_output=True, text=True)
    return r.stdout.split()[-1] if r.returncode == 0 and r.stdout.split() else "?"


def has_module(python, name):
    return subprocess.run([python, "-c", f"import {name}"], capture_output=True).returncode == 0
