package dev.kiln.schedules.ops;

/**
 * Which default schedule a materialized compute of an op gets. Computes that carry no tag are
 * scheduled by their shape: a reduction as {@link #REDUCTION}, anything else as {@link #INJECTIVE}.
 */
public enum Template {
    /** Elementwise, broadcast or index-remapping: one flat vectorized loop. */
    INJECTIVE,
    /** A reduction over some axes; the contiguous spatial axis is vectorized where it is not reduced. */
    REDUCTION,
    /** {@code C[batch..., i, j] = sum_k A[.., i, k] * B[.., k, j]}: register-blocked over i, vectorized over j. */
    MATMUL,
    /**
     * {@code C[.., i, jo, ji] = sum_k A[.., i, k] * Bp[jo, k, ji]} with B a constant packed at compile
     * time into column panels {@code [N/NB][K][NB]} ({@link MatMulSchedule}): the output is C viewed
     * as {@code [.., M, N/NB, NB]}.
     */
    MATMUL_PACKED,
    /**
     * Partial sums {@code P[.., j, l] = sum_ko A[.., ko*L + l] * B[j, ko*L + l]} of a reduction
     * whose operands are contiguous along the reduce axis (Gemm with transB): the lane axis l is
     * vectorized inside the reduce loop, a few j unrolled around it; a small reduction over l follows.
     */
    RFACTOR,
    /** {@code Y[n, co, spatial...] = sum_{ci, k...}}: vectorized over the innermost output spatial axis. */
    CONV,
    /**
     * {@code kiln.ConvNCHWc}'s reduction {@code Y[n, cb, sp..., ow, c]} on blocked tensors: scheduled
     * with its epilogue as register tiles ({@link ConvSchedule#withEpilogue}).
     */
    CONV_NCHWC,
    /** Sliding-window reduction {@code Y[n, c, spatial...]}: windows outside the vectorized innermost axis. */
    POOL
}
