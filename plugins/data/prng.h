/* prng.h -- the plugin's own random numbers, so seeded ops give the same bytes on every
 * machine and libc: xoshiro256** (Blackman & Vigna) seeded through splitmix64, unbiased
 * bounded draws (Lemire's multiply-and-reject), and a Fisher-Yates shuffle.
 * The sequence for a given seed is part of the plugin's contract: changing it changes
 * outputs, so it needs a plugin version bump. */
#ifndef KILN_DATA_PRNG_H
#define KILN_DATA_PRNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_data_rng {
    uint64_t s[4];
} kiln_data_rng;

/* Seeds the generator from a 64-bit seed (four splitmix64 outputs). */
void kiln_data_rng_seed(kiln_data_rng *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t kiln_data_rng_next(kiln_data_rng *r);

/* A uniform integer in [0, bound); bound must be >= 1. */
uint64_t kiln_data_rng_below(kiln_data_rng *r, uint64_t bound);

/* Shuffles v[0..n) in place (Fisher-Yates, from the end). */
void kiln_data_shuffle_indices(int64_t *v, int64_t n, kiln_data_rng *r);

#ifdef __cplusplus
}
#endif

#endif
