/* Typed values of job keys, and the "did you mean" suggestions. */
#include "config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_space(char c) { return isspace((unsigned char)c); }

const char *cfg_type_name(sb_key_type t)
{
    switch (t) {
    case SB_KEY_INT: return "int";
    case SB_KEY_REAL: return "real";
    case SB_KEY_BOOL: return "bool";
    case SB_KEY_STRING: return "string";
    case SB_KEY_CHOICE: return "choice";
    case SB_KEY_LIST: return "list";
    }
    return "?";
}

const char *cfg_fmt_num(double x, char *buf, size_t len)
{
    /* Plain %g would print the maximum 4294967295 as 4.29497e+09, which a
     * user cannot type back; add digits only until the value round-trips. */
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    return buf;
}

void cfg_value_clear(cfg_value *v)
{
    free(v->text);
    free(v->where);
    free((void *)v->items);
    memset(v, 0, sizeof *v);
}

/* ------------------------------------------------------------ suggestions */

enum { DIST_MAXLEN = 64 };

int cfg_distance(const char *a, size_t alen, const char *b, size_t blen, int cap)
{
    size_t gap = alen > blen ? alen - blen : blen - alen;
    if (gap > (size_t)cap || alen > DIST_MAXLEN || blen > DIST_MAXLEN)
        return cap + 1;
    int rows[3][DIST_MAXLEN + 1];
    int *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= blen; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= alen; i++) {
        cur[0] = (int)i;
        int row_min = cur[0];
        for (size_t j = 1; j <= blen; j++) {
            int cost = a[i - 1] != b[j - 1];
            int d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (prev[j - 1] + cost < d)
                d = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < d)
                d = prev2[j - 2] + 1;
            cur[j] = d;
            if (d < row_min)
                row_min = d;
        }
        if (row_min > cap)
            return cap + 1;
        int *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[blen];
}

void cfg_suggest_init(cfg_suggest *s, const char *given, size_t glen)
{
    s->given = given;
    s->glen = glen;
    s->best = 3;
    s->text[0] = '\0';
}

void cfg_suggest_add(cfg_suggest *s, const char *cand, size_t clen, const char *shown,
                     const char *open, const char *close)
{
    int d = cfg_distance(s->given, s->glen, cand, clen, 2);
    if (d > 0 && (size_t)d < s->glen)
        cfg_suggest_offer(s, d, shown, open, close);
}

void cfg_suggest_offer(cfg_suggest *s, int d, const char *shown, const char *open,
                       const char *close)
{
    if (d > 2 || d > s->best)
        return;
    char quoted[DIST_MAXLEN + 80];
    snprintf(quoted, sizeof quoted, "%s%s%s", open, shown, close);
    size_t used = 0;
    if (d < s->best) {
        s->best = d;
        s->text[0] = '\0';
    } else {
        used = strlen(s->text);
        if (strstr(s->text, quoted))
            return; /* a family offers the same name for each of its keys */
    }
    snprintf(s->text + used, sizeof s->text - used, "%s%s", used ? " or " : "", quoted);
}

const char *cfg_suggest_tail(cfg_suggest *s, char *buf, size_t len)
{
    if (s->text[0])
        snprintf(buf, len, " (did you mean %s?)", s->text);
    else if (len)
        buf[0] = '\0';
    return buf;
}

/* ------------------------------------------------------------ values */

/* Is word (wlen bytes) one of the '|'-separated choices? */
static int is_choice(const char *choices, const char *word, size_t wlen)
{
    const char *p = choices;
    while (p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == wlen && memcmp(p, word, n) == 0)
            return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static void suggest_choice(const char *choices, const char *word, size_t wlen, char *buf,
                           size_t len)
{
    cfg_suggest s;
    cfg_suggest_init(&s, word, wlen);
    char shown[DIST_MAXLEN + 1];
    const char *p = choices;
    while (p) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n <= DIST_MAXLEN) {
            memcpy(shown, p, n);
            shown[n] = '\0';
            cfg_suggest_add(&s, p, n, shown, "'", "'");
        }
        p = bar ? bar + 1 : NULL;
    }
    cfg_suggest_tail(&s, buf, len);
}

static sb_status bad(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static sb_status bad(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return SB_ECONFIG;
}

static sb_status check_range(const sb_key_spec *k, double x, char *why, size_t whylen)
{
    char num[32];
    const char *sep = k->unit && k->unit[0] ? " " : "";
    const char *unit = k->unit ? k->unit : "";
    if (x < k->min)
        return bad(why, whylen, "below the minimum %s%s%s", cfg_fmt_num(k->min, num, sizeof num),
                   sep, unit);
    if (x > k->max)
        return bad(why, whylen, "above the maximum %s%s%s", cfg_fmt_num(k->max, num, sizeof num),
                   sep, unit);
    return SB_OK;
}

static sb_status parse_int(const sb_key_spec *k, const char *s, cfg_value *v, char *why, size_t wl)
{
    /* strtoll alone would take "0x10", " 5" and "12abc" as numbers. */
    const char *p = s + (*s == '+' || *s == '-');
    if (!isdigit((unsigned char)*p))
        return bad(why, wl, "not a whole number");
    while (isdigit((unsigned char)*p))
        p++;
    if (*p)
        return bad(why, wl, "not a whole number");
    errno = 0;
    long long x = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return bad(why, wl, "outside the range of a 64-bit whole number");
    v->i = x;
    v->r = (double)x;
    return check_range(k, v->r, why, wl);
}

static sb_status parse_real(const sb_key_spec *k, const char *s, cfg_value *v, char *why, size_t wl)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end)
        return bad(why, wl, "not a number");
    if (!isfinite(x))
        return bad(why, wl, "not a finite number");
    v->r = x;
    return check_range(k, x, why, wl);
}

static sb_status parse_bool(const char *s, cfg_value *v, char *why, size_t wl)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            v->b = 1;
            return SB_OK;
        }
        if (strcasecmp(s, no[i]) == 0) {
            v->b = 0;
            return SB_OK;
        }
    }
    return bad(why, wl, "not a boolean (true/false, yes/no, on/off or 1/0)");
}

static sb_status parse_choice(const sb_key_spec *k, const char *s, char *why, size_t wl)
{
    const char *choices = k->choices ? k->choices : "";
    if (is_choice(choices, s, strlen(s)))
        return SB_OK;
    char tail[300];
    suggest_choice(choices, s, strlen(s), tail, sizeof tail);
    return bad(why, wl, "not one of %s%s", choices, tail);
}

/* Items live in one block: n pointers, then a copy of the text cut at the
 * commas, so that freeing the block frees the list. */
static sb_status parse_list(const sb_key_spec *k, const char *s, cfg_value *v, char *why, size_t wl)
{
    size_t len = strlen(s);
    size_t n = 0;
    if (len) {
        n = 1;
        for (const char *p = s; *p; p++)
            n += *p == ',';
    }
    if (n > INT32_MAX)
        return bad(why, wl, "too many items");
    const char **items = SB_MALLOC(1, n * sizeof *items + len + 1);
    if (!items)
        return SB_ENOMEM;
    char *text = (char *)(items + n);
    memcpy(text, s, len + 1);
    char *p = text;
    for (size_t i = 0; i < n; i++) {
        char *comma = strchr(p, ',');
        char *end = comma ? comma : p + strlen(p);
        char *next = comma ? comma + 1 : end;
        while (p < end && is_space(*p))
            p++;
        while (end > p && is_space(end[-1]))
            end--;
        *end = '\0';
        items[i] = p;
        sb_status st = SB_OK;
        if (!*p)
            st = bad(why, wl, "item %zu of the list is empty", i + 1);
        else if (k->choices && !is_choice(k->choices, p, strlen(p))) {
            char tail[300];
            suggest_choice(k->choices, p, strlen(p), tail, sizeof tail);
            st = bad(why, wl, "'%s' is not one of %s%s", p, k->choices, tail);
        }
        /* A list of choices names things to do once each; a free list may
         * repeat (sizes of layers, say). */
        for (size_t j = 0; st == SB_OK && k->choices && j < i; j++)
            if (strcmp(items[j], p) == 0)
                st = bad(why, wl, "'%s' is listed twice", p);
        if (st != SB_OK) {
            free((void *)items);
            return st;
        }
        p = next;
    }
    v->items = items;
    v->nitems = (int)n;
    return SB_OK;
}

sb_status cfg_parse_value(const sb_key_spec *k, const char *text, size_t len, cfg_value *out,
                          char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    while (len && is_space(*text)) {
        text++;
        len--;
    }
    while (len && is_space(text[len - 1]))
        len--;
    char *s = SB_MALLOC(len + 1, 1);
    if (!s)
        return SB_ENOMEM;
    memcpy(s, text, len);
    s[len] = '\0';
    sb_status st = SB_OK;
    switch (k->type) {
    case SB_KEY_INT: st = parse_int(k, s, out, why, whylen); break;
    case SB_KEY_REAL: st = parse_real(k, s, out, why, whylen); break;
    case SB_KEY_BOOL: st = parse_bool(s, out, why, whylen); break;
    case SB_KEY_CHOICE: st = parse_choice(k, s, why, whylen); break;
    case SB_KEY_LIST: st = parse_list(k, s, out, why, whylen); break;
    case SB_KEY_STRING: break;
    }
    out->text = s;
    if (st != SB_OK)
        cfg_value_clear(out);
    return st;
}
