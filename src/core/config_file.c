/* Job files: inih reads the values; a scan of our own with inih's rules
 * gives every line its number, which inih's handler does not get. */
#include "config_internal.h"

#include <ctype.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>

static int is_space(char c) { return isspace((unsigned char)c); }

typedef enum { REC_SECTION, REC_KEY, REC_CONT, REC_SYNTAX } rec_kind;

typedef struct {
    rec_kind kind;
    int line;
    const char *name; /* SECTION: the section; KEY: the key (not terminated) */
    size_t len;
} scan_rec;

typedef struct {
    char *name, *value;
} ini_call;

typedef struct {
    sb_config *cfg;
    const char *path;
    scan_rec *rec;
    size_t nrec, caprec;
    ini_call *call;
    size_t ncall, capcall;
    int nomem;
} parse_state;

/* inih's ini_find_chars_or_comment: the first of `chars`, or an inline
 * comment (a prefix character after whitespace), or e. */
static const char *find_chars_or_comment(const char *s, const char *e, const char *chars)
{
    int was_space = 0;
    while (s < e && !(chars && strchr(chars, *s)) &&
           !(was_space && strchr(INI_INLINE_COMMENT_PREFIXES, *s))) {
        was_space = is_space(*s);
        s++;
    }
    return s;
}

static int add_rec(parse_state *ps, rec_kind kind, int line, const char *name, size_t len)
{
    if (ps->nrec == ps->caprec) {
        size_t cap = ps->caprec ? ps->caprec * 2 : 64;
        scan_rec *bigger = realloc(ps->rec, cap * sizeof *bigger);
        if (!bigger)
            return 0;
        ps->rec = bigger;
        ps->caprec = cap;
    }
    ps->rec[ps->nrec++] = (scan_rec){kind, line, name, len};
    return 1;
}

/* Classifies every line as inih will (see ini_parse_stream in inih r55):
 * trimmed, ';'/'#' comments, indented continuation of the previous key,
 * [section], key = value or key: value, anything else a syntax error. */
static sb_status scan_lines(parse_state *ps, const char *text)
{
    int line = 0, prev_name = 0;
    for (const char *p = text; *p;) {
        const char *line_start = p;
        const char *nl = strchr(p, '\n');
        size_t bytes = nl ? (size_t)(nl - p) + 1 : strlen(p);
        line++;
        /* inih reads a line in pieces of INI_MAX_LINE - 1 bytes, line end
         * included; a longer one would be split and shift its numbering. */
        if (bytes >= INI_MAX_LINE)
            return cfg_fail_at(ps->path, line, "line too long (%zu characters; the limit is %d)",
                               bytes, INI_MAX_LINE - 1);
        const char *s = p, *e = nl ? nl : p + bytes;
        p += bytes;
        if (INI_ALLOW_BOM && line == 1 && e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
            s += 3;
        const char *start = s;
        while (start < e && is_space(*start))
            start++;
        while (e > start && is_space(e[-1]))
            e--;
        int ok = 1;
        if (start == e || strchr(INI_START_COMMENT_PREFIXES, *start)) {
            continue;
        } else if (INI_ALLOW_MULTILINE && prev_name && start > line_start) {
            ok = add_rec(ps, REC_CONT, line, start, (size_t)(e - start));
        } else if (*start == '[') {
            const char *end = find_chars_or_comment(start + 1, e, "]");
            if (end < e && *end == ']') {
                ok = add_rec(ps, REC_SECTION, line, start + 1, (size_t)(end - start - 1));
                prev_name = 0;
            } else {
                ok = add_rec(ps, REC_SYNTAX, line, NULL, 0);
            }
        } else {
            const char *end = find_chars_or_comment(start, e, "=:");
            if (end < e && (*end == '=' || *end == ':')) {
                const char *ne = end;
                while (ne > start && is_space(ne[-1]))
                    ne--;
                ok = add_rec(ps, REC_KEY, line, start, (size_t)(ne - start));
                prev_name = ne > start;
            } else {
                ok = add_rec(ps, REC_SYNTAX, line, NULL, 0);
            }
        }
        if (!ok)
            return sb_fail(SB_ENOMEM, "%s: out of memory reading the job", ps->path);
    }
    return SB_OK;
}

/* Keeps what inih found; judging it waits for the walk, which knows lines. */
static int on_value(void *user, const char *section, const char *name, const char *value)
{
    (void)section;
    parse_state *ps = user;
    if (ps->ncall == ps->capcall) {
        size_t cap = ps->capcall ? ps->capcall * 2 : 64;
        ini_call *bigger = realloc(ps->call, cap * sizeof *bigger);
        if (!bigger) {
            ps->nomem = 1;
            return 0;
        }
        ps->call = bigger;
        ps->capcall = cap;
    }
    ini_call *c = &ps->call[ps->ncall];
    c->name = strdup(name);
    c->value = strdup(value);
    if (!c->name || !c->value) {
        free(c->name);
        free(c->value);
        ps->nomem = 1;
        return 0;
    }
    ps->ncall++;
    return 1;
}

/* Our scan and inih must have seen the same lines, or line numbers lie. */
static sb_status check_agreement(const parse_state *ps, int ini_ret)
{
    size_t c = 0;
    int first_syntax = 0;
    for (size_t r = 0; r < ps->nrec; r++) {
        const scan_rec *rec = &ps->rec[r];
        if (rec->kind == REC_SYNTAX && !first_syntax)
            first_syntax = rec->line;
        if (rec->kind != REC_KEY && rec->kind != REC_CONT)
            continue;
        if (c == ps->ncall ||
            (rec->kind == REC_KEY && (strlen(ps->call[c].name) != rec->len ||
                                      memcmp(ps->call[c].name, rec->name, rec->len) != 0)))
            return cfg_fail_at(ps->path, rec->line,
                               "internal: the line scanner and inih disagree here");
        c++;
    }
    if (c != ps->ncall || first_syntax != ini_ret)
        return cfg_fail_at(ps->path, ini_ret, "internal: the line scanner and inih disagree here");
    return SB_OK;
}

/* A key line, and the continuation lines after it (r points at the key). */
static sb_status walk_key(parse_state *ps, size_t s, size_t *r, size_t *c)
{
    sb_config *cfg = ps->cfg;
    const scan_rec *rec = &ps->rec[*r];
    const char *key = ps->call[*c].name;
    const char *sname = cfg->sec[s].name;
    char why[1024];
    size_t k;
    sb_status st = cfg_key_to_set(cfg, s, key, strlen(key), &k, why, sizeof why);
    if (st == SB_ECONFIG)
        return cfg_fail_at(ps->path, rec->line, "%s", why);
    if (st != SB_OK)
        return st;
    if (cfg->sec[s].vals[k].origin == CFG_FILE)
        return cfg_fail_at(ps->path, rec->line, "[%s] key '%s' is set twice (first on line %d)",
                           sname, key, cfg->sec[s].vals[k].line);
    cfg_strbuf val = {0};
    cfg_buf_printf(&val, "%s", ps->call[(*c)++].value);
    while (*r + 1 < ps->nrec && ps->rec[*r + 1].kind == REC_CONT) {
        const scan_rec *cont = &ps->rec[++*r];
        const char *more = ps->call[(*c)++].value;
        /* Newer inih drops inline comments on continuation lines, r55 keeps
         * them; drop them here so that both read a job alike. */
        size_t len = (size_t)(find_chars_or_comment(more, more + strlen(more), NULL) - more);
        while (len && is_space(more[len - 1]))
            len--;
        if (memchr(more, '=', len) || more[0] == '[') {
            free(val.buf);
            return cfg_fail_at(ps->path, cont->line,
                               "[%s] this indented line continues the value of "
                               "'%s' (unindent it to start a new key or section)",
                               sname, key);
        }
        cfg_buf_printf(&val, " %.*s", (int)len, more);
    }
    if (val.nomem) {
        free(val.buf);
        return SB_ENOMEM;
    }
    cfg_value nv;
    st = cfg_parse_value(cfg_key_spec(cfg, s, k), val.buf, val.len, &nv, why, sizeof why);
    if (st == SB_ECONFIG)
        st = cfg_fail_at(ps->path, rec->line, "[%s] %s = %s: %s", sname, key, val.buf, why);
    free(val.buf);
    if (st != SB_OK)
        return st;
    nv.line = rec->line;
    size_t n = strlen(ps->path) + 16;
    nv.where = SB_MALLOC(n, 1);
    if (!nv.where) {
        cfg_value_clear(&nv);
        return SB_ENOMEM;
    }
    snprintf(nv.where, n, "%s:%d", ps->path, rec->line);
    cfg_set_value(cfg, s, k, &nv, CFG_FILE);
    return SB_OK;
}

/* Judges the file's lines in order, so that the first error reported is
 * the first one in the file. */
static sb_status walk(parse_state *ps)
{
    size_t s = CFG_NONE, c = 0;
    char why[1024];
    for (size_t r = 0; r < ps->nrec; r++) {
        const scan_rec *rec = &ps->rec[r];
        sb_status st = SB_OK;
        switch (rec->kind) {
        case REC_SYNTAX:
            return cfg_fail_at(ps->path, rec->line,
                               "syntax error (expected [section] or key = value)");
        case REC_SECTION:
            st = cfg_resolve_section(ps->cfg, rec->name, rec->len, &s, why, sizeof why);
            if (st == SB_ECONFIG)
                return cfg_fail_at(ps->path, rec->line, "%s", why);
            break;
        case REC_KEY:
            if (s == CFG_NONE)
                return cfg_fail_at(ps->path, rec->line,
                                   "key '%s' is outside any section (put a "
                                   "[section] line before it)",
                                   ps->call[c].name);
            st = walk_key(ps, s, &r, &c);
            break;
        case REC_CONT:
            /* Unreachable: walk_key takes a key's continuation lines. */
            c++;
            break;
        }
        if (st != SB_OK)
            return st;
    }
    return SB_OK;
}

sb_status cfg_read_job(sb_config *cfg, const char *path, const char *text)
{
    parse_state ps = {.cfg = cfg, .path = path};
    sb_status st = scan_lines(&ps, text);
    if (st == SB_OK) {
        int ret = ini_parse_string(text, on_value, &ps);
        if (ps.nomem || ret < 0)
            st = sb_fail(SB_ENOMEM, "%s: out of memory reading the job", path);
        else
            st = check_agreement(&ps, ret);
    }
    if (st == SB_OK)
        st = walk(&ps);
    for (size_t i = 0; i < ps.ncall; i++) {
        free(ps.call[i].name);
        free(ps.call[i].value);
    }
    free(ps.call);
    free(ps.rec);
    return st;
}
