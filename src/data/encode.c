/* Spike encoders: an image becomes spike trains of its pixels (rate or
 * latency code) or of K integrating encoder neurons (the study's precise
 * spike-time code). Pure functions of (params, image, image index). */
#include <math.h>

#include "spikebridge/data.h"

const char *sb_encoder_name(sb_encoder_kind k)
{
    static const char *names[SB_ENC_COUNT_] = {"poisson", "latency", "integrate"};
    return (unsigned)k < SB_ENC_COUNT_ ? names[k] : "?";
}

static sb_status encode_poisson(const sb_encoder_params *p, const uint8_t *img, uint64_t image,
                                double onset, sb_spikes *out)
{
    const uint64_t steps = (uint64_t)ceil(p->duration_ms / p->dt_ms - 1e-9);
    for (uint32_t i = 0; i < p->pixels; i++) {
        if (!img[i])
            continue;
        double prob = img[i] / 255.0 * p->max_rate_hz * p->dt_ms * 1e-3;
        if (prob <= 0)
            continue;
        sb_rng r;
        sb_rng_init(&r, p->seed, SB_STREAM_ENCODE_POISSON, image * p->pixels + i, 0);
        /* Steps between spikes of a Bernoulli process are geometric:
         * skip = floor(ln u / ln(1 - prob)). */
        double inv_log_q = prob < 1 ? 1.0 / log1p(-prob) : 0;
        for (uint64_t step = 0;; step++) {
            if (prob < 1) {
                double skip = floor(log(sb_rng_uniform(&r)) * inv_log_q);
                if (skip >= (double)(steps - step))
                    break;
                step += (uint64_t)skip;
            }
            if (step >= steps)
                break;
            sb_status st = sb_spikes_push(out, i, onset + (double)step * p->dt_ms);
            if (st)
                return st;
        }
    }
    return SB_OK;
}

static sb_status encode_latency(const sb_encoder_params *p, const uint8_t *img, double onset,
                                sb_spikes *out)
{
    for (uint32_t i = 0; i < p->pixels; i++) {
        if (img[i] <= p->threshold)
            continue;
        sb_status st = sb_spikes_push(out, i, onset + p->duration_ms * (1.0 - img[i] / 255.0));
        if (st)
            return st;
    }
    return SB_OK;
}

static sb_status encode_integrate(const sb_encoder_params *p, const uint8_t *img, double onset,
                                  sb_spikes *out)
{
    const double slot = p->duration_ms / p->pixels;
    for (uint32_t j = 0; j < p->neurons; j++) {
        const float *w = p->weights + (uint64_t)j * p->pixels;
        double v = 0;
        for (uint32_t i = 0; i < p->pixels; i++) {
            if (!img[i])
                continue;
            /* The slot's charge a arrives at a constant rate: crossings are
             * found in closed form, several per slot if a > v_th. */
            double a = w[i] * (img[i] / 255.0), used = 0;
            while (a > 0 && v + a * (1 - used) >= p->v_th) {
                used += (p->v_th - v) / a;
                v = 0;
                sb_status st = sb_spikes_push(out, j, onset + (i + used) * slot);
                if (st)
                    return st;
            }
            v += a * (1 - used);
        }
    }
    return SB_OK;
}

sb_status sb_encode_image(sb_encoder_kind kind, const sb_encoder_params *p, const uint8_t *img,
                          uint64_t image, double onset_ms, sb_spikes *out)
{
    uint64_t from = out->n;
    sb_status st;
    switch (kind) {
    case SB_ENC_POISSON: st = encode_poisson(p, img, image, onset_ms, out); break;
    case SB_ENC_LATENCY: st = encode_latency(p, img, onset_ms, out); break;
    case SB_ENC_INTEGRATE: st = encode_integrate(p, img, onset_ms, out); break;
    default: return sb_fail(SB_EINVAL, "unknown encoder %d", (int)kind);
    }
    return st ? st : sb_spikes_sort(out, from);
}

void sb_encoder_random_weights(float *w, uint32_t neurons, uint32_t pixels, uint32_t seed,
                               double w_min, double w_max)
{
    for (uint32_t j = 0; j < neurons; j++) {
        sb_rng r;
        sb_rng_init(&r, seed, SB_STREAM_ENCODE_WEIGHTS, j, 0);
        for (uint32_t i = 0; i < pixels; i++)
            w[(uint64_t)j * pixels + i] = (float)(w_min + (w_max - w_min) * sb_rng_uniform(&r));
    }
}
