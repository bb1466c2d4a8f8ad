/* Mutation fuzzer for job files and overrides: whatever the bytes, parsing
 * either succeeds and every key reads back, or fails with one message that
 * names the job or the command line. Deterministic (fixed seed), so that a
 * failure reproduces; built with ASan and UBSan, which catch the rest.
 *
 *   build/fuzz/fuzz_config [iterations]      (default 20000) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spikebridge/config.h"

#include "config_test_keys.h"

static const char *const seeds[] = {
    "[job]\ntask = encode\nseed = 42\n\n[data]\ndir = /tmp/mnist\ntrain = 100\n\n"
    "[encode]\nencoders = poisson, latency\nmax_rate = 100 ; Hz\ndt = 0.25\n",
    "; quickstart\n# comments both ways\n[job]\ntask=train\nverbose = yes\noutput = runs/x.h5\n"
    "[population.exc]\nlabel = E\nsize = 800\ntau_m = 20\n[population.inh]\nlabel = I\n"
    "model = izhikevich\n",
    "[job]\r\ntask = encode\r\n[encode]\r\ntags = a,\r\n  b, c\r\nsplit = train\r\n",
    "\xEF\xBB\xBF[encode]\nencoders = integrate\n[job]\ntask = encode\nseed: 7\n",
    "[job]\ntask = train\n[sweep]\ntrain.lr = 0.01, 0.05\nmodel-size = 64,\n  128\n"
    "[encode]\ndt = 1\n[sweep]\nencode.max_rate: 10,20 ; Hz\n",
};

static const char *const words[] = {
    "[",
    "]",
    "=",
    ";",
    " ;",
    "#",
    ":",
    ",",
    "\n",
    "\r\n",
    "  ",
    "job",
    "data",
    "encode",
    "population",
    ".",
    "exc",
    "task",
    "seed",
    "max_rate",
    "dt",
    "encoders",
    "tags",
    "label",
    "tau_m",
    "nan",
    "inf",
    "1e999",
    "-5",
    "+3",
    "0x10",
    "yes",
    "OFF",
    "poisson",
    "latency",
    "integrate",
    "train",
    "test",
    "lif",
    "\xEF\xBB\xBF",
    "[job]",
    "[encode]",
    "[population.p]",
    "99999999999999999999",
    "%s%n",
    "\t",
    "=\n",
    "[]",
    "[population.]",
    "sweep",
    "[sweep]",
    "train.lr",
    "-",
    "a b",
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static size_t below(size_t n) { return n ? (size_t)(next() % n) : 0; }

enum { CAP = 8192 };

/* Inserts n bytes of s at pos, if there is room. */
static void insert(char *buf, size_t *len, size_t pos, const char *s, size_t n)
{
    if (*len + n >= CAP)
        return;
    memmove(buf + pos + n, buf + pos, *len - pos);
    memcpy(buf + pos, s, n);
    *len += n;
}

static void mutate(char *buf, size_t *len)
{
    size_t pos = below(*len + 1);
    switch (below(8)) {
    case 0: /* flip bits of a byte (a zero truncates, as a NUL would) */
        if (*len)
            buf[below(*len)] ^= (char)(1u << below(8));
        break;
    case 1: {
        static const char special[] = "[]=;\n\r:# ,";
        insert(buf, len, pos, &special[below(sizeof special - 1)], 1);
        break;
    }
    case 2: /* truncate */ *len = pos; break;
    case 3: { /* a very long line, sometimes just over the limit */
        char fill[400];
        size_t n = below(2) ? 190 + below(20) : below(sizeof fill);
        memset(fill, "xa=;["[below(5)], n);
        insert(buf, len, pos, fill, n);
        break;
    }
    case 4: { /* duplicate a line */
        size_t a = below(*len + 1);
        while (a > 0 && buf[a - 1] != '\n')
            a--;
        size_t b = a;
        while (b < *len && buf[b] != '\n')
            b++;
        if (b < *len)
            b++;
        char line[CAP];
        memcpy(line, buf + a, b - a);
        size_t at = below(*len + 1);
        while (at > 0 && buf[at - 1] != '\n')
            at--;
        insert(buf, len, at, line, b - a);
        break;
    }
    case 5: { /* delete a stretch */
        size_t n = below(*len - pos + 1);
        memmove(buf + pos, buf + pos + n, *len - pos - n);
        *len -= n;
        break;
    }
    default: { /* a word that means something to the parser */
        const char *w = words[below(sizeof words / sizeof words[0])];
        insert(buf, len, pos, w, strlen(w));
        break;
    }
    }
}

/* A random override: usually well formed, sometimes not. */
static void make_override(char *out, size_t cap)
{
    static const char *const secs[] = {
        "job",        "data",           "encode", "population.q", "population.exc", "encod",
        "population", "population.a-b", "",       "job.x",          "sweep",          "sweep.x",
        " sweep "};
    static const char *const open_keys[] = {"train.lr", "x", "a-b.c_d", "encode.dt", ".", "a b"};
    static const char *const vals[] = {"1",     "-5", "encode", "train", "x",   "poisson,latency",
                                       "1e999", "",   " 7 ",    "a\nb",  "yes", "izhikevich"};
    size_t k = below(nkeys);
    int open = strcmp(keys[k].name, "*") == 0;
    if (below(3) && open) { /* any key of the open section; "a b" fails */
        snprintf(out, cap, "sweep.%s=%s", open_keys[below(sizeof open_keys / sizeof open_keys[0])],
                 below(2) ? "1, 2" : "x");
        return;
    }
    if (below(3)) { /* one that should work: the key's own section and default */
        int family = strcmp(keys[k].section, "population.*") == 0;
        const char *v = keys[k].def ? keys[k].def : keys[k].choices ? keys[k].choices : "x";
        snprintf(out, cap, "%s.%s=%.*s", family ? "population.exc" : keys[k].section, keys[k].name,
                 (int)strcspn(v, "|"), v);
        return;
    }
    const char *sec = secs[below(sizeof secs / sizeof secs[0])];
    const char *key = below(4) ? (open ? open_keys[below(sizeof open_keys / sizeof open_keys[0])]
                                       : keys[k].name)
                               : "max_rat";
    const char *val = vals[below(sizeof vals / sizeof vals[0])];
    switch (below(6)) {
    case 0: snprintf(out, cap, "%s", key); break;
    case 1: snprintf(out, cap, "%s.%s%s", sec, key, val); break;
    default: snprintf(out, cap, "%s.%s=%s", sec, key, val); break;
    }
    if (below(8) == 0 && out[0])
        out[below(strlen(out))] ^= (char)(1u << below(7));
}

static int failures;

static void report(const char *why, const char *text, int nov, char *const *ov)
{
    failures++;
    if (failures > 5)
        return;
    fprintf(stderr, "fuzz_config: %s\n  message: %s\n  text: \"", why, sb_last_error());
    for (const char *p = text; *p; p++)
        fprintf(stderr,
                (unsigned char)*p < 32 || *p == '"' || (unsigned char)*p > 126 ? "\\x%02x" : "%c",
                (unsigned char)*p);
    fprintf(stderr, "\"\n");
    for (int i = 0; i < nov; i++)
        fprintf(stderr, "  override: '%s'\n", ov[i]);
}

/* A name an open section may hold: letters, digits, '_', '.' and '-'. */
static int good_open_name(const char *name)
{
    if (!name[0])
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return 0;
    return 1;
}

/* Reads every key of an accepted job through the getters of its type. */
static void read_all(const sb_config *cfg, const char *text, int nov, char *const *ov)
{
    const char *const *fam, *const *open;
    int ninst = sb_cfg_sections(cfg, "population", &fam);
    int nopen = sb_cfg_open_keys(cfg, "sweep", &open);
    for (int j = 0; j < nopen; j++) {
        if (!good_open_name(open[j]))
            report("bad name in an open section", text, nov, ov);
        for (int m = 0; m < j; m++)
            if (strcmp(open[m], open[j]) == 0)
                report("open key listed twice", text, nov, ov);
        /* Nothing defaults in an open section. */
        if (!sb_cfg_is_set(cfg, "sweep", open[j]))
            report("open key not set", text, nov, ov);
    }
    size_t want_lines = 0;
    for (size_t i = 0; i < nkeys; i++) {
        int family = strcmp(keys[i].section, "population.*") == 0;
        int is_open = strcmp(keys[i].name, "*") == 0;
        int n = family ? ninst : is_open ? nopen : 1;
        want_lines += (size_t)n;
        for (int j = 0; j < n; j++) {
            const char *sec = family ? fam[j] : keys[i].section;
            const char *k = is_open ? open[j] : keys[i].name;
            const char *const *items;
            switch (keys[i].type) {
            case SB_KEY_INT:
                if (sb_cfg_real(cfg, sec, k) != (double)sb_cfg_int(cfg, sec, k) ||
                    sb_cfg_real(cfg, sec, k) < keys[i].min ||
                    sb_cfg_real(cfg, sec, k) > keys[i].max)
                    report("INT out of range", text, nov, ov);
                break;
            case SB_KEY_REAL:
                if (!(sb_cfg_real(cfg, sec, k) >= keys[i].min &&
                      sb_cfg_real(cfg, sec, k) <= keys[i].max))
                    report("REAL out of range", text, nov, ov);
                break;
            case SB_KEY_BOOL:
                if (sb_cfg_bool(cfg, sec, k) != 0 && sb_cfg_bool(cfg, sec, k) != 1)
                    report("BOOL not 0/1", text, nov, ov);
                break;
            case SB_KEY_STRING:
            case SB_KEY_CHOICE: (void)strlen(sb_cfg_str(cfg, sec, k)); break;
            case SB_KEY_LIST: {
                int n_items = sb_cfg_list(cfg, sec, k, &items);
                for (int m = 0; m < n_items; m++)
                    if (!items[m] || !items[m][0])
                        report("empty list item", text, nov, ov);
                break;
            }
            }
            const char *where = sb_cfg_where(cfg, sec, k);
            int set = sb_cfg_is_set(cfg, sec, k);
            if (set != (strcmp(where, "default") != 0))
                report("is_set and where disagree", text, nov, ov);
        }
    }
    size_t lines = 0;
    for (const char *p = sb_cfg_effective_text(cfg); *p; p++)
        lines += *p == '\n';
    if (lines != want_lines)
        report("effective text has the wrong number of lines", text, nov, ov);
    if (strcmp(sb_cfg_job_text(cfg), text) != 0 || strcmp(sb_cfg_path(cfg), "fuzz.ini") != 0)
        report("provenance differs from the input", text, nov, ov);
    (void)strlen(sb_cfg_overrides_text(cfg));
}

int main(int argc, char **argv)
{
    long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    static char buf[CAP + 1];
    long accepted = 0, rejected = 0;
    for (long it = 0; it < iterations; it++) {
        const char *seed = seeds[below(sizeof seeds / sizeof seeds[0])];
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        size_t nmut = below(4) == 0 ? 0 : 1 + below(below(2) ? 2 : 6);
        for (size_t m = 0; m < nmut; m++)
            mutate(buf, &len);
        buf[len] = '\0';
        char ovbuf[3][128];
        char *ov[3];
        int nov = (int)below(4);
        for (int i = 0; i < nov; i++) {
            make_override(ovbuf[i], sizeof ovbuf[i]);
            ov[i] = ovbuf[i];
        }
        sb_config *cfg = (sb_config *)buf; /* must be replaced */
        sb_clear_error();
        sb_status st = sb_config_parse(&cfg, keys, nkeys, "fuzz.ini", buf, nov, ov);
        if (st == SB_OK) {
            accepted++;
            if (!cfg)
                report("SB_OK without a config", buf, nov, ov);
            else
                read_all(cfg, buf, nov, ov);
            sb_config_free(cfg);
            continue;
        }
        rejected++;
        const char *msg = sb_last_error();
        if (st >= 0 || cfg != NULL)
            report("error status without a NULL config", buf, nov, ov);
        else if (!msg[0])
            report("error without a message", buf, nov, ov);
        else if (strncmp(msg, "fuzz.ini", 8) != 0 && strncmp(msg, "command line", 12) != 0)
            report("message names neither the job nor the command line", buf, nov, ov);
        else if (strstr(msg, "internal:"))
            report("the line scanner and inih disagree", buf, nov, ov);
    }
    printf("fuzz_config: %ld inputs, %ld accepted, %ld rejected\n", iterations, accepted, rejected);
    if (failures)
        fprintf(stderr, "fuzz_config: %d failed checks\n", failures);
    return failures ? 1 : 0;
}
