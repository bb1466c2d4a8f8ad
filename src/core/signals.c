/* Stop requests from the batch system: a flag, never work in the handler. */
#include <signal.h>

#include "spikebridge/core.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

void sb_signals_install(void)
{
    struct sigaction sa;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int sb_stop_requested(void) { return stop_flag != 0; }

void sb_set_stop_request(int on) { stop_flag = on != 0; }
