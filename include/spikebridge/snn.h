/*
 * snn.h — the spiking network engine: neuron models, stimuli, projections,
 * plasticity, and the distributed clock-driven simulation loop.
 *
 * Units: time in ms, voltages in mV, rates in Hz. Conductances are
 * dimensionless, in units of the leak conductance (Brian2's COBA and the
 * Diehl & Cook code write them the same way); currents are written as the
 * voltage R·I they would hold the membrane at.
 *
 * Distribution (what makes results independent of the rank count):
 * - neuron gid g is owned by rank g mod P; a rank stores the state of its own
 *   neurons and the incoming synapses of its own neurons;
 * - stimulus sources (Poisson generators, spike files) are replicated: every
 *   rank generates all of them from counter-based streams keyed by source id,
 *   so their spikes are never communicated;
 * - neuron spikes are exchanged every `min latency` steps (par/exchange.c) and
 *   delivered in (step, gid) order, so every target sums its inputs in the
 *   same order whatever the number of ranks or threads;
 * - every random number is drawn from a stream keyed by what it belongs to
 *   (a synapse's post gid, a neuron's gid, a source's id).
 *
 * One step n (time n·dt → (n+1)·dt), the same order as Brian2's schedule:
 *   1. inputs that arrived during step n-1 are added to ge/gi (or v for IF);
 *   2. every neuron integrates over dt; a neuron in its refractory period
 *      keeps v clamped at v_reset (its conductances still decay); as in
 *      Brian2, the period counts the step of the spike, so t_ref = R steps
 *      freezes the R - 1 updates after it;
 *   3. threshold: v > v_th + θ (IF: v ≥ v_th) spikes; reset (v = v_reset, IF:
 *      v -= v_th), the refractory counter starts, θ += θ_plus;
 *   4. stimulus sources emit their spikes of step n;
 *   5. spikes are exchanged (every min-latency steps) and delivered: a spike
 *      of step s through a synapse of delay d (whole steps) arrives in step
 *      s+d and acts from step s+d+1 on — Brian2's "delay 0" is one step;
 *   6. plasticity: presynaptic arrivals of step n, then postsynaptic spikes
 *      of step n.
 */
#ifndef SPIKEBRIDGE_SNN_H
#define SPIKEBRIDGE_SNN_H

#include <stdint.h>

#include "spikebridge/config.h"
#include "spikebridge/core.h"
#include "spikebridge/io.h"
#include "spikebridge/par.h"

/* ------------------------------------------------------------------ distributions */

/* A value or a random distribution written as text: "1.5", "uniform:a:b",
 * "normal:mean:sd" or "linspace:a:b" (element k of n gets a + (b-a)k/(n-1)). */
typedef enum { SNN_DIST_CONST, SNN_DIST_UNIFORM, SNN_DIST_NORMAL, SNN_DIST_LINSPACE } snn_dist_kind;

typedef struct {
    snn_dist_kind kind;
    double a, b; /* value; [a, b); mean, sd; first, last */
} snn_dist;

/* Parses text; on error names `what` (e.g. "jobs/x.ini:4: [projection.ee] weight"). */
sb_status snn_dist_parse(const char *text, const char *what, snn_dist *d);
/* The value for element k of n, drawing from r when random. */
double snn_dist_draw(const snn_dist *d, sb_rng *r, uint64_t k, uint64_t n);
/* Smallest and largest value the distribution can give (normal: ±inf). */
void snn_dist_bounds(const snn_dist *d, double *lo, double *hi);

/* ------------------------------------------------------------------ neurons */

typedef struct {
    double v_rest, v_reset, v_th; /* mV: leak reversal, reset value, threshold */
    double tau_m, tau_e, tau_i;   /* ms: membrane, excitatory and inhibitory synapse */
    double t_ref;                 /* ms: refractory period */
    double e_exc, e_inh;          /* mV: reversal potentials (conductance-based) */
    double i_ext;                 /* mV (R·I) of constant drive; IF: mV per ms */
    double theta_plus, tau_theta; /* mV added to θ per spike; ms decay (0 = none) */
    int euler;                    /* lif_coba: forward Euler instead of exponential Euler */
    double t_lockout;             /* ms after a spike without another (lif_coba; <= t_ref: none) */
} snn_neuron_params;

typedef struct snn_pop snn_pop;

/* A neuron model: state as arrays, one function per step over a range of
 * local neurons. Each model lives in its own src/snn/neuron_*.c. */
typedef struct {
    const char *name; /* as in population.model */
    const char *help; /* one line */
    /* Checks the parameters for dt; fills why on error. */
    int (*valid)(const snn_neuron_params *p, double dt, char *why, size_t len);
    /* Precomputes per-step constants into pop->c. */
    void (*prepare)(snn_pop *pop, double dt);
    /* Steps 1–3 for local neurons [lo, hi): adds the arrived input in_e/in_i
     * (and zeroes it: the ring slot is reused; both NULL when nothing is
     * waiting there), integrates, thresholds and resets; writes the local
     * indices of the neurons that spiked to out (ascending) and returns
     * their count. */
    size_t (*step)(snn_pop *pop, size_t lo, size_t hi, double *in_e, double *in_i, uint32_t *out);
    /* The state variables that excitatory and inhibitory input add to, so
     * that input for the very next step can be added there directly
     * instead of through the ring (-1: always through the ring). */
    int direct_exc, direct_inh;
    /* For stretches without input (snn_net_idle); both NULL: the model is
     * always stepped. quiet: 1 if no local neuron can spike in the next
     * `steps` steps without input and their conductances no longer move v
     * by SNN_IDLE_EPS mV. relax: those steps in closed form, with the
     * conductances decaying but no longer acting on v. */
    int (*quiet)(const snn_pop *pop, int64_t steps);
    void (*relax)(snn_pop *pop, int64_t steps);
    /* For models that store a state variable scaled (NULL: none does): the
     * stored value of variable var over its true value, for the value that
     * holds at the start of `step`. Input added to the state directly for
     * step n is multiplied by scale(n); a probe after step n divides by
     * scale(n + 1). */
    double (*scale)(const snn_pop *pop, int var, int64_t step);
} snn_neuron_model;

#define SNN_IDLE_EPS 1e-9 /* mV */

const snn_neuron_model *snn_neuron_model_find(const char *name);

extern const snn_neuron_model snn_neuron_lif_cuba, snn_neuron_lif_coba, snn_neuron_if;

/* Recordable state variables. */
typedef enum { SNN_VAR_V, SNN_VAR_GE, SNN_VAR_GI, SNN_VAR_THETA, SNN_VAR_COUNT_ } snn_var;
extern const char *const snn_var_names[SNN_VAR_COUNT_];

/* A population of neurons, of which this rank holds every P-th. */
struct snn_pop {
    char name[64];
    const snn_neuron_model *model;
    snn_neuron_params p;
    uint64_t gid0, n;      /* global ids [gid0, gid0 + n) */
    uint64_t first;        /* population index of the first neuron this rank owns */
    uint64_t stride;       /* ranks (P): local neuron k has index first + k * P */
    size_t nlocal;         /* neurons this rank owns */
    double *var[SNN_VAR_COUNT_]; /* per local neuron: v, ge, gi, θ */
    double *i_stim;        /* per local neuron: current stimuli now on (mV) */
    int has_stim;          /* some current stimulus targets this population */
    double *refr;          /* refractory state (lif_cuba, lif_coba: the step it is frozen
                              until; if: steps left); a double so that it vectorises with v */
    uint8_t *steady;       /* per local neuron, read at the first of each block of a
                              model's step: 1 if the block's last step left its state
                              as it was, so a step without input may skip it (lif_coba;
                              NULL: never); cleared wherever the state is set */
    int64_t now;           /* the step being computed (set by the engine) */
    double in_scale[2];    /* model->scale of the direct_exc, direct_inh variables at now
                              (set by the engine with now; 1 without scale) */
    int theta_frozen;      /* 1: θ neither grows nor decays (testing phase) */
    double c[12];          /* model constants for dt (prepare) */
};

/* Population index of local neuron k and the local index of population
 * index i (which this rank must own). */
static inline uint64_t snn_pop_index(const snn_pop *p, size_t k) { return p->first + k * p->stride; }
static inline size_t snn_pop_local(const snn_pop *p, uint64_t i) { return (size_t)((i - p->first) / p->stride); }
/* 1 if this rank owns population index i. */
static inline int snn_pop_owns(const snn_pop *p, uint64_t i) { return i >= p->first && (i - p->first) % p->stride == 0; }

/* ------------------------------------------------------------------ stimuli */

typedef enum { SNN_SRC_POISSON, SNN_SRC_SPIKES } snn_source_kind;

/* A group of spike sources, replicated on every rank. */
typedef struct {
    char name[64];
    snn_source_kind kind;
    uint64_t gid0, n;
    uint32_t stream;       /* entity prefix of its random streams (its index) */
    /* poisson: per source the rate (Hz), the next spike step and how many
     * intervals have been drawn (the stream position). */
    double *rate;
    int64_t *next;
    uint64_t *draws;
    /* spikes: all spikes as (step, id), sorted, and the next to emit. */
    uint64_t nspikes, cursor;
    int64_t *spike_step;
    uint64_t *spike_id;
} snn_source;

/* A current switched on in [start, stop) steps for a population's neurons. */
typedef struct {
    char name[64];
    int pop;
    double amplitude;     /* mV (R·I) */
    int64_t start, stop;  /* steps */
    uint64_t lo, hi;      /* population indices [lo, hi) */
} snn_current;

/* Sets the rates of sources [first, first + n) from step `step` on:
 * intervals are redrawn from there (a new segment). */
void snn_source_set_rates(snn_source *s, const double *rates, uint64_t first, uint64_t n,
                          int64_t step, double dt, uint32_t seed);

/* Replaces the spike list of spike source s (type = spikes) with n spikes,
 * source ids[k] at t_ms[k] ms after step `step`, each emitted in the step
 * that holds its time: step + floor(t/dt). A source spikes at most once per
 * step, as a neuron does (plastic synapses count on one arrival per step),
 * so spikes of one source in one step become one. A time below 0 or an id
 * >= s->n fails and leaves the list as it was. */
sb_status snn_source_set_spikes(snn_source *s, const uint64_t *ids, const double *t_ms, uint64_t n,
                                int64_t step, double dt);

/* ------------------------------------------------------------------ projections */

typedef enum { SNN_TARGET_EXC = 0, SNN_TARGET_INH = 1 } snn_target;

typedef struct snn_plasticity snn_plasticity;

/* Synapses from one population (or source group) to another, held by the
 * rank of each postsynaptic neuron as compressed rows by presynaptic index:
 * row i holds the synapses from pre neuron i to local post neurons, sorted by
 * local post index (so that each thread delivers to its own targets, a
 * contiguous part of the row found at build (split), without atomics) or, with per-synapse delays, by (delay, local post index) (so
 * that a spike's arrivals of one step lie together; threads then pick their
 * targets out of the row). */
typedef struct {
    char name[64];
    int pre_is_source;      /* pre is snn_net.src[pre] rather than pops[pre] */
    int pre, post;
    uint64_t npre;
    snn_target target;
    uint64_t *row;          /* [npre + 1] offsets into the arrays below */
    uint32_t *tgt;          /* local post index */
    float *w;               /* weight */
    uint16_t *delay;        /* steps, or NULL when all are delay_const */
    uint32_t *split;        /* rows by target, more than one thread: per row, where each
                               thread's targets after the first start ([npre][threads - 1],
                               offsets into the row), found once instead of per spike */
    uint16_t delay_const;
    uint16_t delay_min;     /* the smallest delay the job allows (on any rank) */
    uint16_t delay_max;     /* the largest on this rank */
    uint64_t nsyn;          /* synapses on this rank */
    /* incoming synapses by local post neuron (plasticity, normalisation) */
    uint64_t *col;          /* [nlocal + 1] */
    uint64_t *col_syn;      /* synapse indices */
    double normalise;       /* > 0: incoming weights of each post neuron sum to this */
    double *scale;          /* [nlocal] scratch of snn_proj_normalise */
    snn_plasticity *plast;  /* NULL when static */
} snn_proj;

/* ------------------------------------------------------------------ plasticity */

typedef enum { SNN_STDP_ADDITIVE, SNN_STDP_MULTIPLICATIVE } snn_stdp_mode;
typedef enum { SNN_STDP_ALL, SNN_STDP_NEAREST } snn_stdp_pairing;

typedef struct {
    double tau_pre, tau_post, tau_post2; /* ms: trace time constants */
    double a_plus, a_minus;              /* stdp: potentiation, depression */
    double nu_pre, nu_post;              /* diehl_cook: learning rates (power_law: nu_post) */
    double x_tar, mu;                    /* power_law: target presynaptic trace, weight exponent */
    double w_min, w_max;
    snn_stdp_mode mode;
    snn_stdp_pairing pairing;
} snn_plast_params;

/* A plasticity rule: traces decay exponentially between events and are
 * evaluated lazily at events, so the rule costs nothing between spikes.
 * Each rule lives in its own src/snn/plasticity_*.c. */
typedef struct {
    const char *name;
    /* A presynaptic spike arrives at synapse s (of local post neuron j). */
    void (*on_pre)(snn_plasticity *pl, float *w, uint64_t s, size_t j, int64_t step);
    /* Local post neuron j spiked; s is one of its incoming synapses. Called
     * for each of them, then on_post_done once. */
    void (*on_post)(snn_plasticity *pl, float *w, uint64_t s, size_t j, int64_t step);
    void (*on_post_done)(snn_plasticity *pl, size_t j, int64_t step);
    /* Optional: on_pre for the arrivals of one step, given as nr ranges of
     * synapses [range[2r], range[2r+1]), whose targets (tgt[s]) lie in
     * [lo, hi), without duplicates, each inside one arrival group (one row,
     * one delay); NULL: on_pre each. */
    void (*on_pre_many)(snn_plasticity *pl, float *w, const uint64_t *range, size_t nr,
                        const uint32_t *tgt, size_t lo, size_t hi, int64_t step);
    /* 1: the rule keeps a presynaptic trace value per synapse (pl->pre);
     * 0: an arrival sets the trace to 1, so the step of the last arrival
     * alone holds it, pl->pre is NULL, and that step is kept per arrival
     * group (pl->pre_group) */
    int pre_value;
} snn_rule;

struct snn_plasticity {
    const snn_rule *rule;
    snn_plast_params p;
    double dt;
    int frozen;             /* 1: weights do not change */
    /* 1: a step's postsynaptic spikes act before its arrivals and see the
     * presynaptic traces as they were at the end of the step before, so an
     * input arriving with a spike (too late to have caused it) is not
     * counted as its cause, and the arrival then sees the spike's post
     * traces (Brian 1's C STDP, which the Diehl & Cook code ran); 0:
     * arrivals first, then the spikes (Brian2's order) */
    int spikes_first;
    /* per synapse: presynaptic trace after its last event (NULL for rules
     * without pre_value), and that step (SNN_NEVER before the first); read
     * and set the step through snn_plast_pre_step and _set_pre_step */
    float *pre;
    int64_t *pre_step;
    /* Rules without pre_value: NULL, or per synapse its arrival group, the
     * index of its step in pre_step. The synapses of a row that share a
     * delay see the same arrivals, so one step serves them all, and an
     * arrival writes one step instead of 8 bytes per synapse (those stores
     * took about 9 % of a 6 400-neuron Diehl & Cook training image). Threads
     * that own targets in one group set its step to the same value. */
    uint32_t *pre_group;
    uint64_t npre_step;     /* entries of pre_step */
    /* per local post neuron: traces after the last post spike, and its step */
    double *post1, *post2;
    int64_t *post_step;
    /* decay factors per trace (snn_trace), so that a lazy trace costs two
     * loads instead of an exp(): decay[w][k] = exp(-k·dt/τ) for k <
     * SNN_DECAY_LO, then decay[w][SNN_DECAY_LO + m] = exp(-m·SNN_DECAY_LO·dt/τ)
     * for m < nhi[w]; 0 from kzero[w] steps on (SNN_TRACE_CUTOFF); NULL:
     * exp() every time */
    double *decay[3];
    int64_t nhi[3], kzero[3];
    double *scratch;        /* per local post neuron, for on_pre_many */
};

typedef enum { SNN_TRACE_PRE, SNN_TRACE_POST1, SNN_TRACE_POST2 } snn_trace;

/* The step of an event that never happened: any trace of it has decayed to 0. */
#define SNN_NEVER (INT64_MIN / 4)

const snn_rule *snn_rule_find(const char *name);
extern const snn_rule snn_rule_stdp, snn_rule_diehl_cook, snn_rule_power_law;

/* The step of the last presynaptic arrival at synapse s. Relaxed atomics,
 * plain moves on x86: where threads share a group, another thread may set
 * its step while this one reads it, to the value this one set itself in
 * that step (plasticity() keeps spikes-first reads before any such set). */
static inline int64_t snn_plast_pre_step(const snn_plasticity *pl, uint64_t s)
{
    return __atomic_load_n(&pl->pre_step[pl->pre_group ? pl->pre_group[s] : s], __ATOMIC_RELAXED);
}

static inline void snn_plast_set_pre_step(snn_plasticity *pl, uint64_t s, int64_t step)
{
    __atomic_store_n(&pl->pre_step[pl->pre_group ? pl->pre_group[s] : s], step, __ATOMIC_RELAXED);
}

/* A plastic weight w bounded to [w_min, w_max] of the rule's parameters. */
static inline float snn_plast_clip(double w, const snn_plast_params *p)
{
    return (float)(w < p->w_min ? p->w_min : w > p->w_max ? p->w_max : w);
}

/* A trace decayed by more than exp(-SNN_TRACE_CUTOFF) reads 0. Stored
 * traces are 0 or at least 1, so what it leaves out is below 1e-304: added
 * to a float weight it cannot change it, and the subnormal numbers beneath
 * (from exp(-708)) cost a microcode assist per operation; with 6 400
 * neurons, most silent for seconds, they slowed Diehl & Cook training. */
#define SNN_TRACE_CUTOFF 700.0

/* Trace value x·exp(-(now - then)·dt/tau), 0 past the cutoff. */
double snn_trace_decay(double x, int64_t then, int64_t now, double dt, double tau);
/* Fills pl->decay for pl->dt and the time constants in pl->p. */
sb_status snn_plast_tables(snn_plasticity *pl);

enum { SNN_DECAY_BITS = 12, SNN_DECAY_LO = 1 << SNN_DECAY_BITS };

/* Trace `which` of pl, x at step `then`, seen at step `now`: from the
 * tables where they reach (as exact as the exp(), whose argument is
 * rounded: 4·ε·(1 + k·dt/τ)), by exp() beyond. */
static inline double snn_plast_trace(const snn_plasticity *pl, snn_trace which, double x,
                                     int64_t then, int64_t now)
{
    int64_t k = now - then;
    if (x == 0 || k == 0)
        return x;
    const double *d = pl->decay[which];
    if (d && k >= pl->kzero[which])
        return 0;
    if (d && k < SNN_DECAY_LO)
        return x * d[k];
    if (d && (k >> SNN_DECAY_BITS) < pl->nhi[which])
        return x * d[k & (SNN_DECAY_LO - 1)] * d[SNN_DECAY_LO + (k >> SNN_DECAY_BITS)];
    double tau = which == SNN_TRACE_PRE ? pl->p.tau_pre
                 : which == SNN_TRACE_POST1 ? pl->p.tau_post : pl->p.tau_post2;
    return snn_trace_decay(x, then, now, pl->dt, tau);
}

/* ------------------------------------------------------------------ network */

typedef struct {
    char pop[64];
    uint64_t index; /* population index */
    snn_var var;
} snn_probe;

typedef struct snn_net snn_net;

/* Builds the network of a job's [population.*], [stimulus.*] and
 * [projection.*] sections on comm. Collective. Prints a shape summary. */
sb_status snn_net_build(snn_net **net, const sb_config *cfg, const par_ctx *par);
void snn_net_free(snn_net *net);

/* Simulates `steps` more steps. Collective. Returns SB_EINTERRUPTED when a
 * stop was requested (the state is consistent: checkpoint it). */
sb_status snn_net_run(snn_net *net, int64_t steps);

/* Simulates `steps` steps in which no source spikes and no current changes
 * (e.g. the rest between two images): steps normally while input is still
 * arriving, then, once every population is quiet (see snn_neuron_model),
 * jumps the remaining steps in closed form. Collective; returns as
 * snn_net_run. */
sb_status snn_net_idle(snn_net *net, int64_t steps);
/* Steps snn_net_idle has jumped so far. */
int64_t snn_net_jumped(const snn_net *net);

/* Accessors for tasks. */
int64_t snn_net_step(const snn_net *net);
double snn_net_dt(const snn_net *net);
int snn_net_npops(const snn_net *net);
snn_pop *snn_net_pop(snn_net *net, int i);
int snn_net_find_pop(const snn_net *net, const char *name);
int snn_net_nsources(const snn_net *net);
snn_source *snn_net_source(snn_net *net, int i);
int snn_net_find_source(const snn_net *net, const char *name);
int snn_net_nprojs(const snn_net *net);
snn_proj *snn_net_proj(snn_net *net, int i);
uint64_t snn_net_synapses(const snn_net *net); /* on this rank */
/* Bytes this rank holds for synapses (connectivity, weights, delays, traces). */
uint64_t snn_net_synapse_bytes(const snn_net *net);

/* Records the spikes of population/source `name` from now on. */
sb_status snn_net_record_spikes(snn_net *net, const char *name);
/* Records a state variable of a neuron every `every` steps. */
sb_status snn_net_record_probe(snn_net *net, const snn_probe *probe, int every);
/* Spikes this rank recorded for population/source i (neuron pops: of its own
 * neurons; sources: rank 0 records them). ids are population indices. */
uint64_t snn_net_recorded(const snn_net *net, const char *name, const uint64_t **ids,
                          const int64_t **steps);
/* Spike count of every neuron population since the start (all ranks). */
uint64_t snn_net_spike_count(const snn_net *net, int pop);

/* 0: snn_net_run prints no progress and does not stop on a signal (a task
 * that runs many short pieces reports its own progress and stops between
 * them, where its own state is consistent); 1 (the default): it does. */
void snn_net_set_progress(snn_net *net, int on);

/* Sets the rates (Hz) of sources [first, first + n) of Poisson group i
 * from the current step on. */
void snn_net_set_rates(snn_net *net, int i, const double *rates, uint64_t first, uint64_t n);
/* Replaces the spikes of spike-source group i (type = spikes) from the
 * current step on (snn_source_set_spikes): e.g. one image's precisely timed
 * input. Every rank must set the same spikes. The list is not part of a
 * checkpoint: after snn_net_load, set it again. */
sb_status snn_net_set_spikes(snn_net *net, int i, const uint64_t *ids, const double *t_ms,
                             uint64_t n);
/* Drops what this rank recorded of population/source `name` beyond its
 * first `keep` spikes. */
void snn_net_forget_recorded(snn_net *net, const char *name, uint64_t keep);
/* A task's own counters (n values at buf, which must outlive the net) go
 * into every checkpoint and are read back by snn_net_load. */
void snn_net_set_user(snn_net *net, int64_t *buf, int n);

/* Normalises the incoming weights of every post neuron of projection i to
 * its `normalise` sum. */
void snn_proj_normalise(snn_net *net, int i);

/* Collective: writes the recorded spikes (SONATA, /spikes/<name>) and probes
 * (frame reports, /report/<var>/<pop>/...) into an open result file. */
sb_status snn_net_write_records(snn_net *net, hid_t file);

/* Checkpoint of the whole state of this rank (neurons, rings, queues,
 * sources, plastic weights and traces, records) into <dir>/rank<r>of<P>.h5;
 * collective so that every rank's file is complete before any returns. */
sb_status snn_net_save(snn_net *net, const char *dir, const char *tag);
/* Deletes the checkpoint files of `ranks` ranks in dir, and dir (after the
 * result is written). */
void snn_checkpoint_remove(const char *dir, int ranks);
/* Loads it back; 1 in *loaded when a checkpoint was there. Collective. */
sb_status snn_net_load(snn_net *net, const char *dir, const char *tag, int *loaded);

#endif
