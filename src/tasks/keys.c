/* Every key a job file may set: type, default, range, unit, description.
 * `spikebridge help-keys` prints this table; the README's key reference is
 * its Markdown output. */
#include "spikebridge/tasks.h"

#define ANY 0, 0
const sb_key_spec sb_job_keys[] = {
    {"job", "task", SB_KEY_CHOICE, NULL, ANY, "encode", "",
     "what the job does"},
    {"job", "seed", SB_KEY_INT, "1", 0, 4294967295.0, NULL, "",
     "job seed: every random stream is keyed by (seed, purpose, entity)"},
    {"job", "output", SB_KEY_STRING, "", ANY, NULL, "",
     "result file; empty = runs/<job name>.h5"},
    {"job", "log", SB_KEY_CHOICE, "info", ANY, "quiet|info|debug", "",
     "how much rank 0 prints (debug: every rank)"},

    {"data", "dir", SB_KEY_STRING, "data/mnist", ANY, NULL, "",
     "directory with (train|t10k)-(images-idx3|labels-idx1)-ubyte[.gz]"},
    {"data", "train", SB_KEY_INT, "0", 0, 1e9, NULL, "images",
     "training images to use, from the first; 0 = all"},
    {"data", "test", SB_KEY_INT, "0", 0, 1e9, NULL, "images",
     "test images to use, from the first; 0 = all"},

    {"encode", "encoders", SB_KEY_LIST, "poisson,latency,integrate", ANY,
     "poisson|latency|integrate", "", "encoders to run; each writes population /spikes/<name>"},
    {"encode", "split", SB_KEY_CHOICE, "test", ANY, "train|test", "",
     "which split to encode"},
    {"encode", "duration", SB_KEY_REAL, "350", 1e-3, 1e7, NULL, "ms",
     "presentation window of one image"},
    {"encode", "gap", SB_KEY_REAL, "150", 0, 1e7, NULL, "ms",
     "silence after each image; image k starts at k * (duration + gap)"},
    {"encode", "dt", SB_KEY_REAL, "0.5", 1e-4, 1e3, NULL, "ms",
     "poisson: time step (at most one spike per pixel and step)"},
    {"encode", "max_rate", SB_KEY_REAL, "63.75", 0, 1e6, NULL, "Hz",
     "poisson: rate of a pixel of 255 (rate = pixel/255 * max_rate)"},
    {"encode", "threshold", SB_KEY_INT, "0", 0, 254, NULL, "",
     "latency: pixels above it spike once, at duration * (1 - pixel/255)"},
    {"encode", "neurons", SB_KEY_INT, "100", 1, 1e6, NULL, "",
     "integrate: encoder neurons K"},
    {"encode", "v_th", SB_KEY_REAL, "5", 1e-9, 1e9, NULL, "",
     "integrate: threshold (reset by subtraction)"},
    {"encode", "w_min", SB_KEY_REAL, "0", -1e6, 1e6, NULL, "",
     "integrate: random weights are uniform in [w_min, w_max)"},
    {"encode", "w_max", SB_KEY_REAL, "1", -1e6, 1e6, NULL, "",
     "integrate: see w_min"},
    {"encode", "weights_file", SB_KEY_STRING, "", ANY, NULL, "",
     "integrate: HDF5 file whose /encoders/integrate/weights (K x pixels) replaces the random weights"},
};
const size_t sb_job_nkeys = sizeof sb_job_keys / sizeof sb_job_keys[0];
