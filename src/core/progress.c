/* Progress lines with rate and ETA. A terminal gets one line rewritten in
 * place; a batch log (SLURM output file) gets a fresh line every few percent
 * so that `tail -f` shows steady progress without carriage-return clutter. */
#include "spikebridge/core.h"

#include <unistd.h>

static const double TTY_INTERVAL = 0.1;   /* s between terminal redraws */
static const double LOG_STEP = 0.05;      /* fraction between log lines */
static const double LOG_INTERVAL = 60.0;  /* s between log lines at most */
static const double QUIET_START = 2.0;    /* s before the first line: short phases say nothing */

void sb_progress_begin(sb_progress *p, const char *label, const char *unit,
                       double local_total, double total)
{
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->scale = local_total > 0 ? total / local_total : 1.0;
    p->start = sb_now();
    p->last_print = p->start;
    p->last_frac = 0;
    p->active = sb_log_rank() == 0 && sb_log_get_level() >= SB_LOG_INFO;
    p->tty = p->active && isatty(fileno(stderr));
}

static void print_line(sb_progress *p, double done, double now, int final)
{
    char el[32];
    double elapsed = now - p->start;
    double frac = p->total > 0 ? done / p->total : 1.0;
    double rate = elapsed > 0 ? done / elapsed : 0;
    double left = rate > 0 ? (p->total - done) / rate : 0;
    sb_format_duration(elapsed, el, sizeof el);
    if (final)
        fprintf(stderr, "%s%s: %.0f %s in %s (%.1f %s/s)\n", p->tty ? "\r" : "",
                p->label, done, p->unit, el, rate, p->unit);
    else {
        char eta[32];
        fprintf(stderr, "%s%s: %5.1f%% %.0f/%.0f %s, %.1f %s/s, elapsed %s, ETA %s%s",
                p->tty ? "\r" : "", p->label, 100 * frac, done, p->total, p->unit,
                rate, p->unit, el, sb_format_duration(left, eta, sizeof eta),
                p->tty ? "\033[K" : "\n");
    }
    fflush(stderr);
}

void sb_progress_update(sb_progress *p, double local_done)
{
    if (!p->active)
        return;
    double now = sb_now();
    double done = local_done * p->scale;
    double frac = p->total > 0 ? done / p->total : 1.0;
    int due = p->tty ? now - p->last_print >= TTY_INTERVAL
                     : frac - p->last_frac >= LOG_STEP || now - p->last_print >= LOG_INTERVAL;
    if (!due || frac >= 1.0 || now - p->start < QUIET_START)
        return;
    print_line(p, done, now, 0);
    p->last_print = now;
    p->last_frac = frac;
}

void sb_progress_end(sb_progress *p)
{
    if (p->active)
        print_line(p, p->total, sb_now(), 1);
}
