/*
 * Runs a Kiln library through its C ABI alone (the header is force-included with -include).
 * usage: abi_harness THREADS N_IN N_OUT in_0.bin .. in_k.bin out_0.bin .. out_m.bin bytes_0 .. bytes_m
 * Writes each output to its file; then runs two handles on two threads at once, 25 times each,
 * and exits 3 if any of their results differs from the first run's.
 * Built with -DKILN_HARNESS_RUN_ONCE it stops after the first run and writing the outputs: under
 * an emulator such as qemu-aarch64 the 50 concurrent runs would take minutes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_in, n_out;
static void **inputs;
static size_t *out_bytes;
static void **reference;

static void *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(n > 0 ? n : 1);
    if (fread(buf, 1, n, f) != (size_t) n) { perror(path); exit(2); }
    fclose(f);
    return buf;
}

static void **alloc_outputs(void) {
    void **outs = malloc(sizeof(void *) * n_out);
    for (int i = 0; i < n_out; i++) outs[i] = calloc(1, out_bytes[i] ? out_bytes[i] : 1);
    return outs;
}

#ifndef KILN_HARNESS_RUN_ONCE
static void *worker(void *arg) {
    int threads = *(int *) arg;
    KilnModel *m = kiln_model_create(threads);
    if (!m) { fprintf(stderr, "create failed: %s\n", kiln_model_last_error()); return (void *) 1; }
    void **outs = alloc_outputs();
    for (int r = 0; r < 25; r++) {
        if (kiln_model_run(m, (const void *const *) inputs, outs) != 0) { fprintf(stderr, "run failed: %s\n", kiln_model_last_error()); return (void *) 1; }
        for (int i = 0; i < n_out; i++)
            if (memcmp(outs[i], reference[i], out_bytes[i]) != 0) { fprintf(stderr, "concurrent run %d differs in output %d\n", r, i); return (void *) 3; }
    }
    kiln_model_destroy(m);
    return NULL;
}
#endif

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: see source\n"); return 2; }
    int threads = atoi(argv[1]);
    n_in = atoi(argv[2]);
    n_out = atoi(argv[3]);
    if (argc != 4 + n_in + 2 * n_out) { fprintf(stderr, "wrong argument count\n"); return 2; }
    printf("%s\n", kiln_model_metadata());
    inputs = malloc(sizeof(void *) * (n_in ? n_in : 1));
    for (int i = 0; i < n_in; i++) inputs[i] = read_file(argv[4 + i]);
    out_bytes = malloc(sizeof(size_t) * n_out);
    for (int i = 0; i < n_out; i++) out_bytes[i] = strtoull(argv[4 + n_in + n_out + i], NULL, 10);

    KilnModel *m = kiln_model_create(threads);
    if (!m) { fprintf(stderr, "create failed: %s\n", kiln_model_last_error()); return 1; }
    reference = alloc_outputs();
    if (kiln_model_run(m, (const void *const *) inputs, reference) != 0) { fprintf(stderr, "run failed: %s\n", kiln_model_last_error()); return 1; }
    for (int i = 0; i < n_out; i++) {
        FILE *f = fopen(argv[4 + n_in + i], "wb");
        if (!f || fwrite(reference[i], 1, out_bytes[i], f) != out_bytes[i]) { perror(argv[4 + n_in + i]); return 2; }
        fclose(f);
    }
#ifndef KILN_HARNESS_RUN_ONCE
    /* A NULL input must be refused with a message, not crash. */
    if (n_in > 0) {
        void *saved = inputs[0];
        inputs[0] = NULL;
        if (kiln_model_run(m, (const void *const *) inputs, reference) == 0 || strlen(kiln_model_last_error()) == 0) { fprintf(stderr, "NULL input was accepted\n"); return 4; }
        inputs[0] = saved;
    }
    kiln_model_destroy(m);

    pthread_t t[2];
    int per_thread = threads > 1 ? 1 : threads;
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, &per_thread);
    for (int i = 0; i < 2; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        if (rc) return (int) (long) rc;
    }
#else
    kiln_model_destroy(m);
#endif
    printf("ok\n");
    return 0;
}
