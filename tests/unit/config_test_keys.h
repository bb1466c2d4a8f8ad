/* The key table that the job-file suite and the job-file fuzzer share: every
 * key type, ranges, a required key, a section family and an open section. */
#ifndef SB_CONFIG_TEST_KEYS_H
#define SB_CONFIG_TEST_KEYS_H

#include "spikebridge/config.h"

#define ANY 0, 0
static const sb_key_spec keys[] = {
    {"job", "task", SB_KEY_CHOICE, NULL, ANY, "encode|train", "", "what the job does"},
    {"job", "seed", SB_KEY_INT, "1", 0, 4294967295.0, NULL, "", "job seed"},
    {"job", "verbose", SB_KEY_BOOL, "no", ANY, NULL, "", "say more"},
    {"job", "output", SB_KEY_STRING, "", ANY, NULL, "", "result file"},
    {"data", "dir", SB_KEY_STRING, "data/mnist", ANY, NULL, "", "where the images are"},
    {"data", "train", SB_KEY_INT, "0", 0, 1e9, NULL, "images", "training images; 0 = all"},
    {"encode", "encoders", SB_KEY_LIST, "poisson,latency", ANY, "poisson|latency|integrate", "",
     "encoders to run"},
    {"encode", "split", SB_KEY_CHOICE, "test", ANY, "train|test", "", "which split"},
    {"encode", "max_rate", SB_KEY_REAL, "63.75", 0, 1e6, NULL, "Hz", "rate of a white pixel"},
    {"encode", "dt", SB_KEY_REAL, "0.5", 1e-4, 1e3, NULL, "ms", "time step"},
    {"encode", "tags", SB_KEY_LIST, "", ANY, NULL, "", "free words"},
    {"population.*", "size", SB_KEY_INT, "100", 1, 1e6, NULL, "", "neurons"},
    {"population.*", "tau_m", SB_KEY_REAL, "10", 0.1, 1000, NULL, "ms", "membrane time constant"},
    {"population.*", "model", SB_KEY_CHOICE, "lif", ANY, "lif|izhikevich", "", "neuron model"},
    {"population.*", "label", SB_KEY_STRING, NULL, ANY, NULL, "", "name in plots"},
    {"sweep", "*", SB_KEY_LIST, "", ANY, NULL, "", "keys to sweep: section.key = v1, v2, ..."},
};
static const size_t nkeys = sizeof keys / sizeof keys[0];

#endif
