#!/bin/sh
# 1 -> 16 rank scaling (make bench-scaling's four parts) on a lent 16-core
# machine that has no HDF5 and no Debian Open MPI (PLATFORM.md section 7):
# the binary built here travels with the Debian libraries it needs, as .deb
# files unpacked under /tmp (never into /), and MNIST as gzip files.
#
# Prepare here, in the repository root (.dev/ is ignored by .git/info/exclude):
#   mkdir -p .dev/debs .dev/mnist && (cd .dev/debs && apt-get download PACKAGES)
#     PACKAGES: the packages of every library `ldd bin/spikebridge` and
#     `ldd /usr/bin/orterun` and the Open MPI / PMIx plugins resolve, minus
#     libc6 and libgcc-s1, plus openmpi-bin and openmpi-common
#   for f in data/mnist/*; do gzip -9c $f > .dev/mnist/${f##*/}.gz; done
# Run there (with `.dev` and `bin` carried): sh tests/bench/device_scaling.sh
# Writes scaling.md and cpu.txt into $OUT (or runs/). The binary restarts
# itself with OPENBLAS_CORETYPE where OpenBLAS picks slow kernels (src/core/blas_core.c).
set -eu
R=/tmp/sbroot
DEST=${OUT:-runs}
mkdir -p "$R" "$DEST" data/mnist
for f in .dev/debs/*.deb; do dpkg -x "$f" "$R"; done
for f in .dev/mnist/*.gz; do gunzip -c "$f" > "data/mnist/$(basename "$f" .gz)"; done
(cd data/mnist && md5sum -c --quiet ../checksums.md5)

L=$R/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH="$L:$R/lib/x86_64-linux-gnu:$L/openmpi/lib:$L/openblas-openmp${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OPAL_PREFIX=$R/usr PATH="$R/usr/bin:$PATH"
# Debian's /etc/openmpi/openmpi-mca-params.conf, which the relocated
# Open MPI does not read
export OMPI_MCA_btl='^uct,openib,ofi' OMPI_MCA_mtl='^ofi' OMPI_MCA_pml='^ucx' \
       OMPI_MCA_osc='^ucx,pt2pt' OMPI_MCA_btl_base_warn_component_unused=0

# lscpu: cores against hardware threads decides what 16 ranks can give
{ nproc; lscpu 2>/dev/null || grep -m1 'model name' /proc/cpuinfo; free -g | head -2; } > "$DEST/cpu.txt"
cat "$DEST/cpu.txt"
MPIRUN=mpirun.openmpi NP_LIST="${NP_LIST:-1 2 4 8 16}" SIM_N="${SIM_N:-256000 1024000}" \
  SIM_N_PER_RANK="${SIM_N_PER_RANK:-64000}" RUNS="${RUNS:-2}" ENS_TRAIN="${ENS_TRAIN:-500}" \
  STDP_N="${STDP_N:-6400}" STDP_IMAGES="${STDP_IMAGES:-100}" PYTHONUNBUFFERED=1 \
  python3 tests/bench/scaling.py | tee "$DEST/scaling.md"
