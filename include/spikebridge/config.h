/*
 * config.h — job files (INI, parsed with inih) and command-line overrides.
 *
 * Every key a job may set is declared once in a table of sb_key_spec with
 * its type, default, range and a one-line description. Anything else in a
 * job file is an error that names the file and line. Overrides given on the
 * command line as `section.key=value` are checked the same way and win over
 * the file.
 *
 * A section name ending in ".*" in the table (e.g. "population.*") declares a
 * family: any section "population.NAME" accepts those keys, and each such
 * section gets its own values and defaults.
 *
 * A key named "*" declares an open section: [sweep] with the key "*"
 * accepts any key name of letters, digits, '_', '.' and '-' ("train.lr",
 * "model-size"), each parsed and checked as that declaration says (type,
 * range, choices), and holds only the keys the job gives (the default of
 * "*" is never used). "*" must be the only key of its section, whose name
 * has no '.', no other section's name may begin with that name and a '.',
 * and a family cannot be open; a table that breaks this fails every load
 * with an "internal:" error. Read the keys a job gave with
 * sb_cfg_open_keys, their values with the getters below.
 */
#ifndef SPIKEBRIDGE_CONFIG_H
#define SPIKEBRIDGE_CONFIG_H

#include "spikebridge/core.h"

typedef enum {
    SB_KEY_INT,    /* whole number within [min, max] */
    SB_KEY_REAL,   /* finite number within [min, max] */
    SB_KEY_BOOL,   /* true/false, yes/no, on/off, 1/0 */
    SB_KEY_STRING, /* any text (paths, architectures) */
    SB_KEY_CHOICE, /* one of `choices` */
    SB_KEY_LIST    /* comma-separated items; each one of `choices` if set */
} sb_key_type;

typedef struct {
    const char *section; /* "encode", or a family "population.*" */
    const char *name;    /* "max_rate", or "*" for any key (an open section) */
    sb_key_type type;
    const char *def;     /* default, as it would be written; NULL = required */
    double min, max;     /* inclusive range of INT and REAL keys */
    const char *choices; /* "poisson|latency|integrate" for CHOICE and LIST */
    const char *unit;    /* "Hz", "ms", or "" */
    const char *help;    /* one line */
} sb_key_spec;

typedef struct sb_config sb_config;

/* Parses the job file at `path`, applies the overrides (each
 * "section.key=value"; the key is what follows the last '.', except where
 * the text before the first '.' names an open section: then that is the
 * section and the key is all that follows, so "sweep.train.lr=0.1,0.2" sets
 * key "train.lr" of [sweep], adding it if the file did not give it), fills
 * defaults, checks every value and that every required key is set.
 * Errors look like "jobs/x.ini:12: [encode] unknown key 'max_rat' (did you
 * mean 'max_rate'?)" or "command line: encode.max_rate=-5: below the
 * minimum 0 Hz". The table must outlive the config. */
sb_status sb_config_load(sb_config **cfg, const sb_key_spec *specs, size_t nspecs,
                         const char *path, int noverrides, char *const *overrides);

/* The same from text already in memory (`name` is used in messages). */
sb_status sb_config_parse(sb_config **cfg, const sb_key_spec *specs, size_t nspecs,
                          const char *name, const char *text,
                          int noverrides, char *const *overrides);

void sb_config_free(sb_config *cfg);

/* Typed getters. Asking for a key the table does not declare (in an open
 * section: one the job did not give), or with the wrong type, is a
 * programming error (assert). INT keys may be read as real. */
long long sb_cfg_int(const sb_config *cfg, const char *section, const char *key);
double sb_cfg_real(const sb_config *cfg, const char *section, const char *key);
int sb_cfg_bool(const sb_config *cfg, const char *section, const char *key);
/* STRING and CHOICE keys; "" when unset without default. */
const char *sb_cfg_str(const sb_config *cfg, const char *section, const char *key);
/* LIST keys: number of items; *items points into the config (do not free). */
int sb_cfg_list(const sb_config *cfg, const char *section, const char *key,
                const char *const **items);

/* 1 if the job file or an override set the key, 0 if it has its default. */
int sb_cfg_is_set(const sb_config *cfg, const char *section, const char *key);

/* Where the key got its value: "jobs/x.ini:12", "command line" or
 * "default". For messages about values that are wrong together. */
const char *sb_cfg_where(const sb_config *cfg, const char *section, const char *key);

/* Names of the concrete sections of a family ("population" → "population.exc",
 * ...), in order of first appearance. Returns the count; *names points into
 * the config. */
int sb_cfg_sections(const sb_config *cfg, const char *family, const char *const **names);

/* Names of the keys the job (file or overrides) gave in open section
 * `section` ("sweep" → "train.lr", ...), in order of first appearance.
 * Returns the count; *names points into the config (do not free). Asking
 * about a section that is not open is a programming error (assert). */
int sb_cfg_open_keys(const sb_config *cfg, const char *section, const char *const **names);

/* Provenance: the job path, the job text as read, the overrides joined by
 * '\n', and every effective value as "section.key = value\n" lines (an
 * open section's keys in order of first appearance). */
const char *sb_cfg_path(const sb_config *cfg);
const char *sb_cfg_job_text(const sb_config *cfg);
const char *sb_cfg_overrides_text(const sb_config *cfg);
const char *sb_cfg_effective_text(const sb_config *cfg);

/* Lists every key: section, name, type, default, range or choices, unit and
 * help; an open section's key as "sweep.*". markdown = 1 prints a Markdown
 * table (for the README). */
void sb_config_print_keys(FILE *out, const sb_key_spec *specs, size_t nspecs, int markdown);

#endif
