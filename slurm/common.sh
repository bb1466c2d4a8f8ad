# Sourced by the sbatch scripts: environment, launcher, and the signal and
# requeue protocol. Usage inside a script: run_spikebridge run JOB.ini [key=value ...]
#
# SLURM sends SIGUSR1 to this batch shell (--signal=B:USR1@SECONDS) before
# the time limit; the trap passes it on to spikebridge, which checkpoints at
# its next safe point and exits with status 3; the script then requeues the
# job, and the requeued job resumes from the checkpoints.
set -u
cd "${SLURM_SUBMIT_DIR:-.}"
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
# Open MPI as root (containers, test clusters), and no banner on failure.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_orte_execute_quiet=1
export OMPI_MCA_hwloc_base_binding_policy=none
SB=${SB:-${SLURM_SUBMIT_DIR:-.}/bin/spikebridge}

# srun starts the ranks where SLURM's PMIx works with this Open MPI;
# otherwise mpirun takes its ranks from the allocation.
if srun --mpi=list 2>&1 | grep -q pmix; then launcher=srun; else launcher=mpirun; fi

launch() {
    if [ $launcher = srun ]; then
        srun --mpi=pmix --cpus-per-task="$OMP_NUM_THREADS" "$SB" "$@"
    else
        mpirun --bind-to none "$SB" "$@"
    fi
}

# srun dies of SIGUSR1 instead of passing it on: the job's steps are
# signalled through SLURM; mpirun forwards it to its ranks itself.
forward_stop() {
    echo "batch: signal received: spikebridge checkpoints at its next safe point"
    if [ $launcher = srun ]; then
        scancel --signal=USR1 "${SLURM_JOB_ID:-}"
    elif [ -n "$child" ]; then
        kill -USR1 "$child"
    fi
}

run_spikebridge() {
    echo "batch: job ${SLURM_JOB_ID:-?} (restart ${SLURM_RESTART_COUNT:-0}) on ${SLURM_JOB_NODELIST:-?}: ${SLURM_NTASKS:-1} ranks x $OMP_NUM_THREADS threads: spikebridge $*"
    child=""
    trap forward_stop USR1 TERM
    launch "$@" &
    child=$!
    # bash runs traps only between commands: a signal ends `wait` early, so
    # wait until the launcher is gone, then ask once more for its status
    # (bash keeps it).
    while kill -0 "$child" 2> /dev/null; do
        wait "$child"
    done
    wait "$child"
    rc=$?
    echo "batch: spikebridge exited with status $rc"
    if [ "$rc" = 3 ]; then
        echo "batch: checkpointed; requeueing job ${SLURM_JOB_ID:-?}"
        scontrol requeue "${SLURM_JOB_ID:-}" && exit 0
        echo "batch: requeue failed; submit the same job again to resume" >&2
    fi
    exit "$rc"
}
