/* `spikebridge help-keys`: the key table as aligned text or, for the
 * README, as a Markdown table. */
#include "config_internal.h"

#include <stdio.h>
#include <string.h>

enum { COLS = 5, CELL = 512 };

static int is_open(const sb_key_spec *k) { return strcmp(k->name, CFG_OPEN_KEY) == 0; }

/* The cells of one key: key, type, default, allowed values, description. */
static void cells(const sb_key_spec *k, char c[COLS][CELL])
{
    size_t len = strlen(k->section);
    int family = len > 2 && strcmp(k->section + len - 2, ".*") == 0;
    /* An open section's key comes out as "sweep.*". */
    if (family)
        snprintf(c[0], CELL, "%.*s.NAME.%s", (int)(len - 2), k->section, k->name);
    else
        snprintf(c[0], CELL, "%s.%s", k->section, k->name);
    snprintf(c[1], CELL, "%s", cfg_type_name(k->type));
    /* An open section holds only the keys a job gives: nothing defaults. */
    const char *def = !k->def ? "(required)" : k->def[0] ? k->def : "\"\"";
    snprintf(c[2], CELL, "%s", is_open(k) ? "(none)" : def);
    const char *unit = k->unit ? k->unit : "";
    char lo[32], hi[32];
    switch (k->type) {
    case SB_KEY_INT:
    case SB_KEY_REAL:
        snprintf(c[3], CELL, "%s .. %s%s%s", cfg_fmt_num(k->min, lo, sizeof lo),
                 cfg_fmt_num(k->max, hi, sizeof hi), unit[0] ? " " : "", unit);
        break;
    case SB_KEY_BOOL: snprintf(c[3], CELL, "true|false"); break;
    case SB_KEY_CHOICE:
    case SB_KEY_LIST:
        snprintf(c[3], CELL, "%s%s%s", k->choices ? k->choices : "",
                 k->choices && unit[0] ? " " : "", unit);
        break;
    case SB_KEY_STRING: snprintf(c[3], CELL, "%s", unit); break;
    }
    snprintf(c[4], CELL, "%s", k->help ? k->help : "");
}

/* A Markdown cell: '|' would end it early, and "<name>" outside code would
 * be taken for an HTML tag and vanish. */
static void md_cell(FILE *out, const char *s, int code)
{
    int tick = code && s[0];
    fputs(tick ? " `" : " ", out);
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        if (!tick && (*s == '<' || *s == '>'))
            fputs(*s == '<' ? "&lt;" : "&gt;", out);
        else
            fputc(*s, out);
    }
    fputs(tick ? "` |" : " |", out);
}

void sb_config_print_keys(FILE *out, const sb_key_spec *specs, size_t nspecs, int markdown)
{
    static const char *const head[COLS] = {"key", "type", "default", "allowed", "description"};
    char c[COLS][CELL];
    if (markdown) {
        fputs("| key | type | default | allowed | description |\n", out);
        fputs("|-----|------|---------|---------|-------------|\n", out);
        for (size_t i = 0; i < nspecs; i++) {
            cells(&specs[i], c);
            fputc('|', out);
            for (int j = 0; j < COLS; j++)
                md_cell(out, c[j], j == 0 || (j == 2 && specs[i].def && !is_open(&specs[i])));
            fputc('\n', out);
        }
        return;
    }
    size_t width[COLS] = {0};
    for (int j = 0; j < COLS; j++)
        width[j] = strlen(head[j]);
    for (size_t i = 0; i < nspecs; i++) {
        cells(&specs[i], c);
        for (int j = 0; j < COLS - 1; j++)
            if (strlen(c[j]) > width[j])
                width[j] = strlen(c[j]);
    }
    for (size_t i = 0; i <= nspecs; i++) {
        if (i > 0)
            cells(&specs[i - 1], c);
        for (int j = 0; j < COLS - 1; j++)
            fprintf(out, "%-*s  ", (int)width[j], i ? c[j] : head[j]);
        fprintf(out, "%s\n", i ? c[COLS - 1] : head[COLS - 1]);
    }
}
