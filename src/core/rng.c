/* Counter-based random streams (Random123 Philox4x32-10).
 *
 * The key holds (seed, purpose); the 128-bit counter holds (block position,
 * entity). A stream is thus a pure function of what it belongs to and how far
 * it has been read, which is what makes results independent of the number of
 * ranks and threads: nobody owns a generator, everybody can recompute one. */
#include "spikebridge/core.h"

#include <math.h>
#include <Random123/philox.h>

static void refill(sb_rng *r)
{
    philox4x32_ctr_t c = {{r->ctr[0], r->ctr[1], r->ctr[2], r->ctr[3]}};
    philox4x32_key_t k = {{r->key[0], r->key[1]}};
    philox4x32_ctr_t out = philox4x32(c, k);
    for (int i = 0; i < 4; i++)
        r->buf[i] = out.v[i];
    if (++r->ctr[0] == 0)
        ++r->ctr[1];
    r->next = 0;
}

void sb_rng_init(sb_rng *r, uint32_t seed, sb_stream_purpose purpose,
                 uint64_t entity, uint64_t pos)
{
    uint64_t block = pos / 4;
    r->key[0] = seed;
    r->key[1] = (uint32_t)purpose;
    r->ctr[0] = (uint32_t)block;
    r->ctr[1] = (uint32_t)(block >> 32);
    r->ctr[2] = (uint32_t)entity;
    r->ctr[3] = (uint32_t)(entity >> 32);
    r->next = 4;
    if (pos % 4) {
        refill(r);
        r->next = (unsigned)(pos % 4);
    }
}

uint32_t sb_rng_u32(sb_rng *r)
{
    if (r->next >= 4)
        refill(r);
    return r->buf[r->next++];
}

double sb_rng_uniform(sb_rng *r)
{
    return ((double)sb_rng_u32(r) + 0.5) * (1.0 / 4294967296.0);
}

double sb_rng_normal(sb_rng *r)
{
    double u1 = sb_rng_uniform(r), u2 = sb_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
