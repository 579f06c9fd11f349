/*
 * What a standalone Kiln program's main (kiln_main.c, compiled once per toolchain and cached)
 * knows of the model it is linked with: the model's C ABI, and the table of its inputs and
 * outputs that Kiln generates for each model (kiln_model_io.c).
 */
#ifndef KILN_MAIN_H
#define KILN_MAIN_H

typedef struct KilnModel KilnModel;
const char *kiln_model_metadata(void);
KilnModel *kiln_model_create(int num_threads);
int kiln_model_run(KilnModel *m, const void *const *inputs, void *const *outputs);
void kiln_model_destroy(KilnModel *m);
const char *kiln_model_last_error(void);

typedef struct {
    const char *name;
    const char *descr; /* numpy dtype string, e.g. "<f4" */
    int elem_size;
    int is_float;      /* 1: float16/32/64 */
    int is_bool;
    int rank;
    const long long *shape;
    int shape_output;  /* an output whose length the data decides: the index of the int64 output
                          holding its actual shape (its data is the start of the buffer); else -1 */
} KilnTensor;

extern const char KILN_PROGRAM[];
extern const int KILN_NUM_INPUTS, KILN_NUM_OUTPUTS;
extern const KilnTensor KILN_INPUTS[], KILN_OUTPUTS[];

#endif
