/* Shared by the files of src/core/config*: one value, and the helpers that
 * messages and `help-keys` need alike. */
#ifndef SB_CORE_CONFIG_INTERNAL_H
#define SB_CORE_CONFIG_INTERNAL_H

#include "spikebridge/config.h"

typedef enum {
    CFG_UNSET = 0,  /* required key not given, or a family without instance */
    CFG_DEFAULT,
    CFG_FILE,
    CFG_CLI
} cfg_origin;

typedef struct {
    char *text;          /* effective value as written, trimmed; NULL if unset */
    cfg_origin origin;
    int line;            /* job file line when origin is CFG_FILE */
    char *where;         /* "path:LINE" when origin is CFG_FILE */
    long long i;         /* INT */
    double r;            /* INT and REAL */
    int b;               /* BOOL */
    const char **items;  /* LIST: one allocation, the pointers then the text */
    int nitems;
} cfg_value;

#define CFG_NONE ((size_t)-1)

/* The key name that makes a section open: it stands for any key the job
 * gives there, each read with this one declaration. */
#define CFG_OPEN_KEY "*"

typedef struct {
    const char *name;     /* as in the table: "encode" or "population.*" */
    int family;
    int open;             /* its only key is CFG_OPEN_KEY; never a family */
    size_t stem_len;      /* family: strlen("population") */
    size_t *keys;         /* indexes into the table, in table order */
    size_t nkeys;
    cfg_value *defaults;  /* also what a family instance that was never written reads */
    const char **inst;    /* family: instance names, in order of first appearance */
    int ninst, capinst;
} cfg_template;

typedef struct {
    char *name;
    size_t tmpl;
    cfg_value *vals;      /* one per key: the template's, or an open section's own */
    size_t nvals;
    /* Open section: the names of the keys the job gave, in order of first
     * appearance, matching vals; capvals is the room in both. */
    char **open_names;
    size_t capvals;
} cfg_section;

struct sb_config {
    const sb_key_spec *specs;
    size_t nspecs;
    char *path, *job_text, *overrides_text, *effective_text;
    cfg_template *tmpl;
    size_t ntmpl;
    cfg_section *sec;
    size_t nsec, capsec;
};

size_t cfg_find_section(const sb_config *cfg, const char *name, size_t len);
/* The template a section name belongs to, or CFG_NONE; *bad_instance is set
 * when it names a family with an impossible instance name. */
size_t cfg_template_of(const sb_config *cfg, const char *name, size_t len, int *bad_instance);
size_t cfg_find_key(const sb_config *cfg, size_t t, const char *key, size_t len);

/* Key k of section s (an index into its vals): its declaration and its name. */
const sb_key_spec *cfg_key_spec(const sb_config *cfg, size_t s, size_t k);
const char *cfg_key_name(const sb_config *cfg, size_t s, size_t k);
/* The index of key (len bytes) in section s's vals, or CFG_NONE. */
size_t cfg_section_key(const sb_config *cfg, size_t s, const char *key, size_t len);

/* Records "name:LINE: ..." (or, with line 0, "name: ...") as SB_ECONFIG. */
sb_status cfg_fail_at(const char *name, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A growing string; after a failed allocation it only records nomem. */
typedef struct {
    char *buf;
    size_t len, cap;
    int nomem;
} cfg_strbuf;

void cfg_buf_printf(cfg_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Finds section `name` (len bytes) or makes the family instance it names,
 * setting *out to its index. On SB_ECONFIG, `why` says what is wrong
 * ("unknown section [encod] (did you mean [encode]?)"), with no location. */
sb_status cfg_resolve_section(sb_config *cfg, const char *name, size_t len, size_t *out,
                              char *why, size_t wl);

/* Sets *k to the index of key (len bytes) in section s, for a value about
 * to be set: a declared key, or in an open section one given before or a new
 * one, added unset (the caller sets it, or the load fails and frees it). On
 * SB_ECONFIG, `why` says what is wrong, without a location: "[encode]
 * unknown key 'max_rat' (did you mean 'max_rate'?)" or a bad open key name. */
sb_status cfg_key_to_set(sb_config *cfg, size_t s, const char *key, size_t len, size_t *k,
                         char *why, size_t wl);

/* Replaces the value of key k of section s by *nv (which it takes over). */
void cfg_set_value(sb_config *cfg, size_t s, size_t k, const cfg_value *nv, cfg_origin origin);

/* Reads the job text into cfg's sections; errors name path and line. */
sb_status cfg_read_job(sb_config *cfg, const char *path, const char *text);

/* Parses `text` (len bytes, need not be NUL-terminated; trimmed here) as a
 * value of key k into *out, which it overwrites (origin CFG_UNSET: that is
 * the caller's to set). Returns SB_OK; SB_ECONFIG with only the reason in
 * `why` ("not a whole number", "below the minimum 0 Hz") and the message
 * left alone; or SB_ENOMEM. */
sb_status cfg_parse_value(const sb_key_spec *k, const char *text, size_t len, cfg_value *out,
                          char *why, size_t whylen);

/* Frees what v holds and marks it unset. */
void cfg_value_clear(cfg_value *v);

/* The shortest %g form of x that reads back as x ("1e+06", "4294967295"). */
const char *cfg_fmt_num(double x, char *buf, size_t len);

const char *cfg_type_name(sb_key_type t);

/* Optimal string alignment distance (edits and swaps of neighbours), or a
 * number above `cap` as soon as it must exceed it. */
int cfg_distance(const char *a, size_t alen, const char *b, size_t blen, int cap);

/* Collects the closest candidates to a misspelt name for "(did you mean
 * 'max_rate'?)": those at the smallest distance, if it is at most 2 and
 * shorter than the name itself (so that 'x' does not suggest 'dt'). */
typedef struct {
    const char *given;
    size_t glen;
    int best;        /* distance of what `text` holds; 3 when nothing */
    char text[256];  /* "'a' or 'b'" */
} cfg_suggest;

void cfg_suggest_init(cfg_suggest *s, const char *given, size_t glen);
/* cand: the candidate (clen bytes); shown between open and close ("'" or "[", "]"). */
void cfg_suggest_add(cfg_suggest *s, const char *cand, size_t clen, const char *shown,
                     const char *open, const char *close);
/* The same with the distance d already known (which may be 0). */
void cfg_suggest_offer(cfg_suggest *s, int d, const char *shown, const char *open, const char *close);
/* " (did you mean 'a'?)" or "" */
const char *cfg_suggest_tail(cfg_suggest *s, char *buf, size_t len);

#endif
