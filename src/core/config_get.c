/* Reading a loaded job: typed getters, where a value came from, provenance. */
#include "config_internal.h"

#include <assert.h>
#include <string.h>

/* What a getter returns for a mistake that assert() did not stop (NDEBUG). */
static const cfg_value no_value;

/* The value of section.key and its declaration; a family instance the job
 * never wrote reads the family's defaults. Keys the table does not declare,
 * and in an open section keys the job did not give, are a programming
 * error. */
static const cfg_value *find_value(const sb_config *cfg, const char *section, const char *key,
                                   sb_key_type *type)
{
    size_t len = strlen(section);
    size_t s = cfg_find_section(cfg, section, len);
    if (s != CFG_NONE) {
        size_t k = cfg_section_key(cfg, s, key, strlen(key));
        assert(k != CFG_NONE && "key not declared in the key table (nor given in an open section)");
        if (k == CFG_NONE)
            return NULL;
        *type = cfg_key_spec(cfg, s, k)->type;
        return &cfg->sec[s].vals[k];
    }
    int bad_instance;
    size_t t = cfg_template_of(cfg, section, len, &bad_instance);
    if (bad_instance)
        t = CFG_NONE;
    assert(t != CFG_NONE && "section not declared in the key table");
    if (t == CFG_NONE)
        return NULL;
    size_t k = cfg_find_key(cfg, t, key, strlen(key));
    assert(k != CFG_NONE && "key not declared in the key table");
    if (k == CFG_NONE)
        return NULL;
    *type = cfg->specs[cfg->tmpl[t].keys[k]].type;
    return &cfg->tmpl[t].defaults[k];
}

/* The value, if the key has type a or b. */
static const cfg_value *lookup(const sb_config *cfg, const char *section, const char *key,
                               sb_key_type a, sb_key_type b)
{
    sb_key_type type = a;
    const cfg_value *v = find_value(cfg, section, key, &type);
    assert((type == a || type == b) && "key read with the wrong type");
    return v && (type == a || type == b) ? v : &no_value;
}

static const cfg_value *lookup_any(const sb_config *cfg, const char *section, const char *key)
{
    sb_key_type type;
    const cfg_value *v = find_value(cfg, section, key, &type);
    return v ? v : &no_value;
}

long long sb_cfg_int(const sb_config *cfg, const char *section, const char *key)
{
    return lookup(cfg, section, key, SB_KEY_INT, SB_KEY_INT)->i;
}

double sb_cfg_real(const sb_config *cfg, const char *section, const char *key)
{
    return lookup(cfg, section, key, SB_KEY_REAL, SB_KEY_INT)->r;
}

int sb_cfg_bool(const sb_config *cfg, const char *section, const char *key)
{
    return lookup(cfg, section, key, SB_KEY_BOOL, SB_KEY_BOOL)->b;
}

const char *sb_cfg_str(const sb_config *cfg, const char *section, const char *key)
{
    const cfg_value *v = lookup(cfg, section, key, SB_KEY_STRING, SB_KEY_CHOICE);
    return v->text ? v->text : "";
}

int sb_cfg_list(const sb_config *cfg, const char *section, const char *key,
                const char *const **items)
{
    static const char *const none[1] = {NULL};
    const cfg_value *v = lookup(cfg, section, key, SB_KEY_LIST, SB_KEY_LIST);
    *items = v->items ? (const char *const *)v->items : none;
    return v->nitems;
}

int sb_cfg_is_set(const sb_config *cfg, const char *section, const char *key)
{
    cfg_origin o = lookup_any(cfg, section, key)->origin;
    return o == CFG_FILE || o == CFG_CLI;
}

const char *sb_cfg_where(const sb_config *cfg, const char *section, const char *key)
{
    const cfg_value *v = lookup_any(cfg, section, key);
    if (v->origin == CFG_FILE && v->where)
        return v->where;
    return v->origin == CFG_CLI ? "command line" : "default";
}

int sb_cfg_sections(const sb_config *cfg, const char *family, const char *const **names)
{
    /* "population", "population." and "population.*" all name the family. */
    size_t len = strlen(family);
    if (len >= 2 && strcmp(family + len - 2, ".*") == 0)
        len -= 2;
    else if (len >= 1 && family[len - 1] == '.')
        len -= 1;
    static const char *const none[1] = {NULL};
    for (size_t t = 0; t < cfg->ntmpl; t++) {
        const cfg_template *tp = &cfg->tmpl[t];
        if (tp->family && tp->stem_len == len && memcmp(tp->name, family, len) == 0) {
            *names = tp->ninst ? tp->inst : none;
            return tp->ninst;
        }
    }
    assert(!"family not declared in the key table");
    *names = none;
    return 0;
}

int sb_cfg_open_keys(const sb_config *cfg, const char *section, const char *const **names)
{
    static const char *const none[1] = {NULL};
    /* An open section is never a family, so it exists from the start. */
    size_t s = cfg_find_section(cfg, section, strlen(section));
    int open = s != CFG_NONE && cfg->tmpl[cfg->sec[s].tmpl].open;
    assert(open && "not an open section of the key table");
    if (!open || cfg->sec[s].nvals == 0) {
        *names = none;
        return 0;
    }
    *names = (const char *const *)cfg->sec[s].open_names;
    return (int)cfg->sec[s].nvals;
}

const char *sb_cfg_path(const sb_config *cfg) { return cfg->path; }
const char *sb_cfg_job_text(const sb_config *cfg) { return cfg->job_text; }
const char *sb_cfg_overrides_text(const sb_config *cfg) { return cfg->overrides_text; }
const char *sb_cfg_effective_text(const sb_config *cfg) { return cfg->effective_text; }
