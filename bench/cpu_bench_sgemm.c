/* cpu_bench_sgemm.c -- the machine's sgemm peak, for bench/cpu_bench.sh: times oneDNN's
 * dnnl_sgemm (the library cpu.train runs on) on square float32 matrices with N OpenMP threads
 * and prints the best GFLOP/s of several repetitions as one JSON line.
 *
 *   cc -O2 -fopenmp cpu_bench_sgemm.c -ldnnl -o sgemm && ./sgemm [threads] [size] [reps]
 *
 * Exit status 0, or 1 when memory cannot be had or dnnl_sgemm fails (message on stderr). */
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    long n = argc > 2 ? atol(argv[2]) : 2048;
    int reps = argc > 3 ? atoi(argv[3]) : 8;
    if (threads < 1 || n < 64 || reps < 1) {
        fprintf(stderr, "usage: %s [threads >= 1] [size >= 64] [reps >= 1]\n", argv[0]);
        return 1;
    }
    omp_set_num_threads(threads);
    float *a = malloc((size_t)(n * n) * sizeof *a), *b = malloc((size_t)(n * n) * sizeof *b);
    float *c = malloc((size_t)(n * n) * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "sgemm: out of memory for %ldx%ld matrices\n", n, n);
        return 1;
    }
    for (long i = 0; i < n * n; i++) {
        a[i] = (float)((i * 7) % 13) * 0.01f;
        b[i] = (float)((i * 5) % 11) * 0.01f;
        c[i] = 0;
    }
    double best = 1e30;
    for (int r = 0; r < reps + 1; r++) { /* the first call warms up (JIT, page faults) */
        double t0 = now_s();
        dnnl_status_t st = dnnl_sgemm('N', 'N', n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = now_s() - t0;
        if (st != dnnl_success) {
            fprintf(stderr, "sgemm: dnnl_sgemm failed (status %d)\n", (int)st);
            return 1;
        }
        if (r > 0 && dt < best)
            best = dt;
    }
    printf("{\"threads\": %d, \"size\": %ld, \"best_s\": %.6f, \"gflops\": %.1f}\n", threads, n, best,
           2.0 * (double)n * (double)n * (double)n / best * 1e-9);
    free(a);
    free(b);
    free(c);
    return 0;
}
