/* rng.h -- the trainer's random numbers: xoshiro256** seeded through splitmix64. Pinned: the
 * same seed gives the same sequence on every machine and build (model bytes depend on it), and
 * the whole state is four words, saved in checkpoints so a resumed run continues the sequence. */
#ifndef KILN_CPU_RNG_H
#define KILN_CPU_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kiln_cpu_rng {
    uint64_t s[4];
} kiln_cpu_rng;

/* Seeds `r` from (seed, stream): different streams of one seed are independent sequences
 * (weights init, shuffling). Never fails. */
void kiln_cpu_rng_seed(kiln_cpu_rng *r, uint64_t seed, uint64_t stream);

/* Next 64 random bits. */
uint64_t kiln_cpu_rng_next(kiln_cpu_rng *r);

/* Uniform float in [0, 1) with 24 random bits. */
float kiln_cpu_rng_uniform(kiln_cpu_rng *r);

/* Uniform integer in [0, n) for n >= 1 (Lemire's unbiased multiply-shift with rejection). */
uint64_t kiln_cpu_rng_below(kiln_cpu_rng *r, uint64_t n);

/* Writes a uniformly random permutation of 0..n-1 into idx (Fisher-Yates from the identity).
 * The result depends only on the generator state and n. */
void kiln_cpu_rng_permutation(kiln_cpu_rng *r, int64_t *idx, int64_t n);

#ifdef __cplusplus
}
#endif

#endif
