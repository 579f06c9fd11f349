package dev.kiln.irlow.expr;

/** Math functions callable from the loop IR (float arguments; POW and ATAN2 take two). */
public enum Intrinsic {
    EXP, LOG, SQRT, TANH, ERF, POW, ABS, FLOOR, CEIL, ROUND_EVEN, SIN, COS, TAN, ASIN, ACOS, ATAN, SINH, COSH, ASINH, ACOSH, ATANH, SIGMOID, ATAN2, IS_NAN, IS_INF
}
