/* Loading a job: the key table, sections and their family instances,
 * overrides, defaults and required keys. The job file itself is read in
 * config_file.c. */
#include "config_internal.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int is_space(char c) { return isspace((unsigned char)c); }

/* ------------------------------------------------------------ messages */

/* "name:LINE: ..." or, with line 0, "name: ..." */
sb_status cfg_fail_at(const char *name, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (line > 0)
        return sb_fail(SB_ECONFIG, "%s:%d: %s", name, line, msg);
    return sb_fail(SB_ECONFIG, "%s: %s", name, msg);
}

void cfg_buf_printf(cfg_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->nomem || n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->len + (size_t)n + 1) * 2;
        char *bigger = realloc(b->buf, cap);
        if (!bigger) {
            b->nomem = 1;
            sb_fail(SB_ENOMEM, "out of memory building the job's text");
            return;
        }
        b->buf = bigger;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ------------------------------------------------------------ the table */

/* Template t declares the open key: it must be all that t declares, and
 * every override must be able to tell its section from its key. */
static sb_status check_open(sb_config *cfg, size_t t)
{
    cfg_template *tp = &cfg->tmpl[t];
    size_t len = strlen(tp->name);
    if (tp->family)
        return sb_fail(SB_ECONFIG, "internal: the family %s cannot have the open key '*'",
                       tp->name);
    if (tp->nkeys > 1)
        return sb_fail(SB_ECONFIG, "internal: %s.* must be the only key of [%s]", tp->name,
                       tp->name);
    /* An override names an open section by the text before its first '.'. */
    if (strchr(tp->name, '.'))
        return sb_fail(SB_ECONFIG,
                       "internal: the open section [%s] needs a name without '.' (an override "
                       "names it by the text before its first '.')",
                       tp->name);
    for (size_t u = 0; u < cfg->ntmpl; u++)
        if (strncmp(cfg->tmpl[u].name, tp->name, len) == 0 && cfg->tmpl[u].name[len] == '.')
            return sb_fail(SB_ECONFIG,
                           "internal: [%s] is open, so overrides could not reach [%s]", tp->name,
                           cfg->tmpl[u].name);
    tp->open = 1;
    return SB_OK;
}

static sb_status build_templates(sb_config *cfg)
{
    const sb_key_spec *sp = cfg->specs;
    cfg->tmpl = SB_CALLOC(cfg->nspecs ? cfg->nspecs : 1, sizeof *cfg->tmpl);
    if (!cfg->tmpl)
        return SB_ENOMEM;
    size_t *owner = SB_MALLOC(cfg->nspecs ? cfg->nspecs : 1, sizeof *owner);
    if (!owner)
        return SB_ENOMEM;
    sb_status st = SB_OK;
    for (size_t i = 0; i < cfg->nspecs && st == SB_OK; i++) {
        if (!sp[i].section || !sp[i].name) {
            st = sb_fail(SB_ECONFIG, "internal: entry %zu of the key table has no section or name",
                         i);
            break;
        }
        size_t t = 0;
        while (t < cfg->ntmpl && strcmp(cfg->tmpl[t].name, sp[i].section) != 0)
            t++;
        if (t == cfg->ntmpl) {
            cfg_template *n = &cfg->tmpl[cfg->ntmpl++];
            size_t len = strlen(sp[i].section);
            n->name = sp[i].section;
            n->family = len > 2 && strcmp(sp[i].section + len - 2, ".*") == 0;
            n->stem_len = n->family ? len - 2 : 0;
        }
        owner[i] = t;
        cfg->tmpl[t].nkeys++;
        for (size_t j = 0; j < i; j++)
            if (owner[j] == t && strcmp(sp[j].name, sp[i].name) == 0)
                st = sb_fail(SB_ECONFIG, "internal: %s.%s is declared twice", sp[i].section,
                             sp[i].name);
        if ((sp[i].type == SB_KEY_CHOICE) && !sp[i].choices)
            st = sb_fail(SB_ECONFIG, "internal: %s.%s is a choice without choices", sp[i].section,
                         sp[i].name);
    }
    for (size_t i = 0; i < cfg->nspecs && st == SB_OK; i++)
        if (strcmp(sp[i].name, CFG_OPEN_KEY) == 0)
            st = check_open(cfg, owner[i]);
    for (size_t t = 0; t < cfg->ntmpl && st == SB_OK; t++) {
        cfg_template *tp = &cfg->tmpl[t];
        tp->keys = SB_MALLOC(tp->nkeys, sizeof *tp->keys);
        tp->defaults = SB_CALLOC(tp->nkeys, sizeof *tp->defaults);
        if (!tp->keys || !tp->defaults)
            st = SB_ENOMEM;
        tp->nkeys = 0;
    }
    for (size_t i = 0; i < cfg->nspecs && st == SB_OK; i++) {
        cfg_template *tp = &cfg->tmpl[owner[i]];
        tp->keys[tp->nkeys] = i;
        /* Parsed now, whether or not a job uses them: a bad entry fails
         * every run, not only the one that happens to need it. */
        if (sp[i].def) {
            char why[512];
            cfg_value *v = &tp->defaults[tp->nkeys];
            st = cfg_parse_value(&sp[i], sp[i].def, strlen(sp[i].def), v, why, sizeof why);
            if (st == SB_ECONFIG)
                sb_fail(st, "internal: bad default for %s.%s: %s", sp[i].section, sp[i].name, why);
            v->origin = CFG_DEFAULT;
        }
        tp->nkeys++;
    }
    free(owner);
    return st;
}

size_t cfg_find_key(const sb_config *cfg, size_t t, const char *key, size_t len)
{
    const cfg_template *tp = &cfg->tmpl[t];
    for (size_t k = 0; k < tp->nkeys; k++) {
        const char *name = cfg->specs[tp->keys[k]].name;
        if (strlen(name) == len && memcmp(name, key, len) == 0)
            return k;
    }
    return CFG_NONE;
}

size_t cfg_template_of(const sb_config *cfg, const char *name, size_t len, int *bad_instance)
{
    *bad_instance = 0;
    for (size_t t = 0; t < cfg->ntmpl; t++) {
        const cfg_template *tp = &cfg->tmpl[t];
        if (!tp->family) {
            if (strlen(tp->name) == len && memcmp(tp->name, name, len) == 0)
                return t;
            continue;
        }
        if (len <= tp->stem_len || memcmp(tp->name, name, tp->stem_len + 1) != 0)
            continue;
        for (size_t i = tp->stem_len + 1; i < len; i++)
            if (!isalnum((unsigned char)name[i]) && name[i] != '_')
                *bad_instance = 1;
        if (len == tp->stem_len + 1)
            *bad_instance = 1;
        return t;
    }
    return CFG_NONE;
}

/* ------------------------------------------------------------ sections */

size_t cfg_find_section(const sb_config *cfg, const char *name, size_t len)
{
    for (size_t s = 0; s < cfg->nsec; s++)
        if (strlen(cfg->sec[s].name) == len && memcmp(cfg->sec[s].name, name, len) == 0)
            return s;
    return CFG_NONE;
}

static sb_status add_section(sb_config *cfg, size_t t, const char *name, size_t len)
{
    cfg_template *tp = &cfg->tmpl[t];
    if (cfg->nsec == cfg->capsec) {
        size_t cap = cfg->capsec ? cfg->capsec * 2 : 8;
        cfg_section *bigger = realloc(cfg->sec, cap * sizeof *bigger);
        if (!bigger)
            return sb_fail(SB_ENOMEM, "out of memory adding section [%.*s]", (int)len, name);
        cfg->sec = bigger;
        cfg->capsec = cap;
    }
    if (tp->family && tp->ninst == tp->capinst) {
        int cap = tp->capinst ? tp->capinst * 2 : 4;
        const char **bigger = realloc((void *)tp->inst, (size_t)cap * sizeof *bigger);
        if (!bigger)
            return sb_fail(SB_ENOMEM, "out of memory adding section [%.*s]", (int)len, name);
        tp->inst = bigger;
        tp->capinst = cap;
    }
    cfg_section *s = &cfg->sec[cfg->nsec];
    memset(s, 0, sizeof *s);
    s->tmpl = t;
    s->name = SB_MALLOC(len + 1, 1);
    /* An open section's keys come with the job (add_open_key). */
    s->nvals = tp->open ? 0 : tp->nkeys;
    s->vals = SB_CALLOC(s->nvals ? s->nvals : 1, sizeof *s->vals);
    if (!s->name || !s->vals) {
        free(s->name);
        free(s->vals);
        return SB_ENOMEM;
    }
    memcpy(s->name, name, len);
    s->name[len] = '\0';
    if (tp->family)
        tp->inst[tp->ninst++] = s->name;
    cfg->nsec++;
    return SB_OK;
}

/* Finds the section, making a family instance on first sight. On
 * SB_ECONFIG, `why` says what is wrong, without a location. */
sb_status cfg_resolve_section(sb_config *cfg, const char *name, size_t len, size_t *out, char *why,
                              size_t wl)
{
    *out = cfg_find_section(cfg, name, len);
    if (*out != CFG_NONE)
        return SB_OK;
    int bad_instance;
    size_t t = cfg_template_of(cfg, name, len, &bad_instance);
    if (t != CFG_NONE && !bad_instance) {
        sb_status st = add_section(cfg, t, name, len);
        *out = cfg->nsec - 1;
        return st;
    }
    if (t != CFG_NONE) {
        snprintf(why, wl,
                 "bad section name [%.*s]: a [%.*s.NAME] section needs a NAME of letters, "
                 "digits and '_'",
                 (int)len, name, (int)cfg->tmpl[t].stem_len, cfg->tmpl[t].name);
        return SB_ECONFIG;
    }
    cfg_suggest sg;
    cfg_suggest_init(&sg, name, len);
    const char *dot = memchr(name, '.', len);
    size_t stem = dot ? (size_t)(dot - name) : len;
    for (size_t i = 0; i < cfg->ntmpl; i++) {
        const cfg_template *tp = &cfg->tmpl[i];
        if (!tp->family) {
            cfg_suggest_add(&sg, tp->name, strlen(tp->name), tp->name, "[", "]");
            continue;
        }
        /* [popluation.exc] is meant as [population.exc]; [population]
         * lacks its name. Instance names have no '.', so the first one
         * ends the family's part (which itself has none in a sane table). */
        char shown[256];
        snprintf(shown, sizeof shown, "%.*s%.*s", (int)tp->stem_len, tp->name,
                 dot ? (int)(len - stem) : 5, dot ? dot : ".NAME");
        int d = cfg_distance(name, stem, tp->name, tp->stem_len, 2);
        if ((d == 0 && !dot) || (d > 0 && d <= 2 && (size_t)d < stem))
            cfg_suggest_offer(&sg, d, shown, "[", "]");
    }
    char tail[300];
    snprintf(why, wl, "unknown section [%.*s]%s", (int)len, name,
             cfg_suggest_tail(&sg, tail, sizeof tail));
    return SB_ECONFIG;
}

/* ------------------------------------------------------------ keys */

const sb_key_spec *cfg_key_spec(const sb_config *cfg, size_t s, size_t k)
{
    const cfg_template *tp = &cfg->tmpl[cfg->sec[s].tmpl];
    return &cfg->specs[tp->keys[tp->open ? 0 : k]];
}

const char *cfg_key_name(const sb_config *cfg, size_t s, size_t k)
{
    const cfg_section *sec = &cfg->sec[s];
    return cfg->tmpl[sec->tmpl].open ? sec->open_names[k] : cfg_key_spec(cfg, s, k)->name;
}

size_t cfg_section_key(const sb_config *cfg, size_t s, const char *key, size_t len)
{
    const cfg_section *sec = &cfg->sec[s];
    if (!cfg->tmpl[sec->tmpl].open)
        return cfg_find_key(cfg, sec->tmpl, key, len);
    for (size_t k = 0; k < sec->nvals; k++)
        if (strlen(sec->open_names[k]) == len && memcmp(sec->open_names[k], key, len) == 0)
            return k;
    return CFG_NONE;
}

static void unknown_key(const sb_config *cfg, size_t s, const char *key, size_t len, char *why,
                        size_t wl)
{
    const cfg_template *tp = &cfg->tmpl[cfg->sec[s].tmpl];
    cfg_suggest sg;
    cfg_suggest_init(&sg, key, len);
    for (size_t k = 0; k < tp->nkeys; k++) {
        const char *name = cfg->specs[tp->keys[k]].name;
        cfg_suggest_add(&sg, name, strlen(name), name, "'", "'");
    }
    char tail[300];
    snprintf(why, wl, "[%s] unknown key '%.*s'%s", cfg->sec[s].name, (int)len, key,
             cfg_suggest_tail(&sg, tail, sizeof tail));
}

/* Appends key (len bytes) to open section s, unset. */
static sb_status add_open_key(sb_config *cfg, size_t s, const char *key, size_t len)
{
    cfg_section *sec = &cfg->sec[s];
    if (sec->nvals == sec->capvals) {
        size_t cap = sec->capvals ? sec->capvals * 2 : 8;
        cfg_value *vals = realloc(sec->vals, cap * sizeof *vals);
        if (vals)
            sec->vals = vals;
        char **names = vals ? realloc(sec->open_names, cap * sizeof *names) : NULL;
        if (!names)
            return sb_fail(SB_ENOMEM, "out of memory adding key '%.*s' to [%s]", (int)len, key,
                           sec->name);
        sec->open_names = names;
        sec->capvals = cap;
    }
    char *name = SB_MALLOC(len + 1, 1);
    if (!name)
        return SB_ENOMEM;
    memcpy(name, key, len);
    name[len] = '\0';
    memset(&sec->vals[sec->nvals], 0, sizeof sec->vals[sec->nvals]);
    sec->open_names[sec->nvals++] = name;
    return SB_OK;
}

sb_status cfg_key_to_set(sb_config *cfg, size_t s, const char *key, size_t len, size_t *k,
                         char *why, size_t wl)
{
    *k = cfg_section_key(cfg, s, key, len);
    if (*k != CFG_NONE)
        return SB_OK;
    const cfg_section *sec = &cfg->sec[s];
    if (!cfg->tmpl[sec->tmpl].open) {
        unknown_key(cfg, s, key, len, why, wl);
        return SB_ECONFIG;
    }
    /* The names a key of the table could have, plus '.' and '-' so that a
     * key can name another section's key ("train.lr") or be a word
     * ("model-size"); nothing that an INI line or a shell would mangle. */
    int ok = len > 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)key[i]) && !memchr("_.-", key[i], 3))
            ok = 0;
    if (!ok) {
        snprintf(why, wl,
                 "[%s] bad key name '%.*s': a key of [%s] needs a name of letters, digits, "
                 "'_', '.' and '-'",
                 sec->name, (int)len, key, sec->name);
        return SB_ECONFIG;
    }
    /* sb_cfg_open_keys counts in an int. */
    if (sec->nvals >= INT32_MAX) {
        snprintf(why, wl, "[%s] too many keys", sec->name);
        return SB_ECONFIG;
    }
    sb_status st = add_open_key(cfg, s, key, len);
    *k = sec->nvals - 1;
    return st;
}

void cfg_set_value(sb_config *cfg, size_t s, size_t k, const cfg_value *nv, cfg_origin origin)
{
    cfg_value *v = &cfg->sec[s].vals[k];
    cfg_value_clear(v);
    *v = *nv;
    v->origin = origin;
}

/* ------------------------------------------------------------ overrides */

/* Is name (len bytes, trimmed here) the name of an open section? */
static int is_open_section(const sb_config *cfg, const char *name, size_t len)
{
    while (len && is_space(*name)) {
        name++;
        len--;
    }
    while (len && is_space(name[len - 1]))
        len--;
    for (size_t t = 0; t < cfg->ntmpl; t++)
        if (cfg->tmpl[t].open && strlen(cfg->tmpl[t].name) == len &&
            memcmp(cfg->tmpl[t].name, name, len) == 0)
            return 1;
    return 0;
}

static sb_status apply_override(sb_config *cfg, const char *o)
{
    const char *eq = strchr(o, '=');
    const char *dot = NULL;
    for (const char *p = o; eq && p < eq; p++)
        if (*p == '.')
            dot = p;
    /* The key is what follows the last '.', since family instances put
     * one in the section's name; but a key of an open section may have
     * '.'s of its own ("sweep.train.lr"), and an open section has none. */
    const char *first = eq ? memchr(o, '.', (size_t)(eq - o)) : NULL;
    if (first && is_open_section(cfg, o, (size_t)(first - o)))
        dot = first;
    const char *sec = o, *sec_end = dot, *key = dot ? dot + 1 : NULL, *key_end = eq;
    while (dot && sec < sec_end && is_space(*sec))
        sec++;
    while (dot && sec_end > sec && is_space(sec_end[-1]))
        sec_end--;
    while (dot && key < key_end && is_space(*key))
        key++;
    while (dot && key_end > key && is_space(key_end[-1]))
        key_end--;
    if (!dot || sec == sec_end || key == key_end)
        return sb_fail(SB_ECONFIG, "command line: '%s': expected section.key=value", o);
    /* The effective text keeps one key a line. */
    if (strpbrk(eq + 1, "\r\n"))
        return sb_fail(SB_ECONFIG, "command line: %s: the value contains a line break", o);
    char why[1024];
    size_t s;
    sb_status st = cfg_resolve_section(cfg, sec, (size_t)(sec_end - sec), &s, why, sizeof why);
    if (st == SB_ECONFIG)
        return sb_fail(st, "command line: %s: %s", o, why);
    if (st != SB_OK)
        return st;
    size_t k;
    st = cfg_key_to_set(cfg, s, key, (size_t)(key_end - key), &k, why, sizeof why);
    if (st == SB_ECONFIG)
        return sb_fail(st, "command line: %s: %s", o, why);
    if (st != SB_OK)
        return st;
    cfg_value nv;
    st = cfg_parse_value(cfg_key_spec(cfg, s, k), eq + 1, strlen(eq + 1), &nv, why, sizeof why);
    if (st == SB_ECONFIG)
        return sb_fail(st, "command line: %s: %s", o, why);
    if (st != SB_OK)
        return st;
    /* A later override of the same key wins, as on any command line. */
    cfg_set_value(cfg, s, k, &nv, CFG_CLI);
    return SB_OK;
}

/* ------------------------------------------------------------ the rest */

static sb_status finish(sb_config *cfg)
{
    cfg_strbuf eff = {0};
    sb_status st = SB_OK;
    for (size_t t = 0; t < cfg->ntmpl && st == SB_OK; t++) {
        for (size_t s = 0; s < cfg->nsec && st == SB_OK; s++) {
            if (cfg->sec[s].tmpl != t)
                continue;
            /* An open section's keys were all given, so none is missing
             * or takes a default. */
            for (size_t k = 0; k < cfg->sec[s].nvals && st == SB_OK; k++) {
                const sb_key_spec *spec = cfg_key_spec(cfg, s, k);
                const char *name = cfg_key_name(cfg, s, k);
                cfg_value *v = &cfg->sec[s].vals[k];
                if (v->origin == CFG_UNSET && !spec->def) {
                    st = cfg_fail_at(cfg->path, 0, "[%s] required key '%s' is not set",
                                     cfg->sec[s].name, name);
                    break;
                }
                if (v->origin == CFG_UNSET) {
                    char why[512];
                    cfg_value nv;
                    st = cfg_parse_value(spec, spec->def, strlen(spec->def), &nv, why, sizeof why);
                    if (st != SB_OK)
                        break;
                    cfg_set_value(cfg, s, k, &nv, CFG_DEFAULT);
                }
                cfg_buf_printf(&eff, "%s.%s = %s\n", cfg->sec[s].name, name, v->text);
            }
        }
    }
    if (st == SB_OK && eff.nomem)
        st = SB_ENOMEM;
    if (st == SB_OK && !eff.buf)
        cfg_buf_printf(&eff, "%s", "");
    cfg->effective_text = eff.buf;
    return st == SB_OK && !cfg->effective_text ? SB_ENOMEM : st;
}

sb_status sb_config_parse(sb_config **out, const sb_key_spec *specs, size_t nspecs,
                          const char *name, const char *text, int noverrides,
                          char *const *overrides)
{
    assert(name);
    *out = NULL;
    if (!text)
        text = "";
    sb_config *cfg = SB_CALLOC(1, sizeof *cfg);
    if (!cfg)
        return SB_ENOMEM;
    cfg->specs = specs;
    cfg->nspecs = nspecs;
    cfg->path = sb_strdup(name);
    cfg->job_text = sb_strdup(text);
    cfg_strbuf ovr = {0};
    cfg_buf_printf(&ovr, "%s", "");
    for (int i = 0; i < noverrides; i++)
        cfg_buf_printf(&ovr, "%s%s", i ? "\n" : "", overrides[i]);
    cfg->overrides_text = ovr.buf;
    sb_status st = cfg->path && cfg->job_text && cfg->overrides_text ? SB_OK : SB_ENOMEM;
    if (st == SB_OK)
        st = build_templates(cfg);
    for (size_t t = 0; t < cfg->ntmpl && st == SB_OK; t++)
        if (!cfg->tmpl[t].family)
            st = add_section(cfg, t, cfg->tmpl[t].name, strlen(cfg->tmpl[t].name));
    if (st == SB_OK)
        st = cfg_read_job(cfg, name, text);
    for (int i = 0; i < noverrides && st == SB_OK; i++)
        st = apply_override(cfg, overrides[i]);
    if (st == SB_OK)
        st = finish(cfg);
    if (st != SB_OK) {
        sb_config_free(cfg);
        return st;
    }
    *out = cfg;
    return SB_OK;
}

sb_status sb_config_load(sb_config **cfg, const sb_key_spec *specs, size_t nspecs, const char *path,
                         int noverrides, char *const *overrides)
{
    *cfg = NULL;
    char *text;
    sb_status st = sb_read_text_file(path, &text, NULL);
    if (st != SB_OK)
        return st;
    st = sb_config_parse(cfg, specs, nspecs, path, text, noverrides, overrides);
    free(text);
    return st;
}

void sb_config_free(sb_config *cfg)
{
    if (!cfg)
        return;
    for (size_t s = 0; s < cfg->nsec; s++) {
        for (size_t k = 0; k < cfg->sec[s].nvals; k++) {
            cfg_value_clear(&cfg->sec[s].vals[k]);
            if (cfg->sec[s].open_names)
                free(cfg->sec[s].open_names[k]);
        }
        free(cfg->sec[s].open_names);
        free(cfg->sec[s].vals);
        free(cfg->sec[s].name);
    }
    for (size_t t = 0; t < cfg->ntmpl; t++) {
        cfg_template *tp = &cfg->tmpl[t];
        for (size_t k = 0; tp->defaults && k < tp->nkeys; k++)
            cfg_value_clear(&tp->defaults[k]);
        free(tp->defaults);
        free(tp->keys);
        free((void *)tp->inst);
    }
    free(cfg->tmpl);
    free(cfg->sec);
    free(cfg->path);
    free(cfg->job_text);
    free(cfg->overrides_text);
    free(cfg->effective_text);
    free(cfg);
}
