package dev.kiln.codegen.opencl;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The small functions printed code calls where OpenCL C has no builtin with Kiln's semantics:
 * floor division and modulo on signed integers (C's {@code /} and {@code %} truncate), and float
 * min/max that return the first operand when it is NaN, as the CPU backend does (OpenCL's
 * {@code fmin} would return the other one). Each is printed once per program, before the kernels.
 */
final class Helpers {
    private final Map<String, String> sources = new LinkedHashMap<>();

    /** Floor division of signed integers of C type {@code type} (scalar or vector). */
    String floorDiv(String type, boolean vector) {
        String name = "kiln_floordiv_" + type;
        sources.computeIfAbsent(name, n -> vector
                ? "static inline " + type + " " + n + "(" + type + " a, " + type + " b) {\n"
                        + "    " + type + " q = a / b, r = a % b;\n"
                        + "    return q + ((r != 0) & ((r ^ b) < 0)); /* a true vector comparison is -1 */\n"
                        + "}\n"
                : "static inline " + type + " " + n + "(" + type + " a, " + type + " b) {\n"
                        + "    " + type + " q = a / b, r = a % b;\n"
                        + "    return (r != 0 && (r ^ b) < 0) ? q - 1 : q;\n"
                        + "}\n");
        return name;
    }

    /** Floor modulo of signed integers: the result has the divisor's sign. */
    String floorMod(String type, boolean vector) {
        String name = "kiln_floormod_" + type;
        sources.computeIfAbsent(name, n -> vector
                ? "static inline " + type + " " + n + "(" + type + " a, " + type + " b) {\n"
                        + "    " + type + " r = a % b;\n"
                        + "    return r + (((r != 0) & ((r ^ b) < 0)) & b);\n"
                        + "}\n"
                : "static inline " + type + " " + n + "(" + type + " a, " + type + " b) {\n"
                        + "    " + type + " r = a % b;\n"
                        + "    return (r != 0 && (r ^ b) < 0) ? r + b : r;\n"
                        + "}\n");
        return name;
    }

    /** Float min ({@code min}) or max: b if b is strictly less (greater) than a, else a, so a NaN in a propagates. */
    String minMax(String type, boolean vector, boolean min) {
        String name = "kiln_" + (min ? "min" : "max") + "_" + type;
        String op = min ? "<" : ">";
        sources.computeIfAbsent(name, n -> "static inline " + type + " " + n + "(" + type + " a, " + type + " b) {\n"
                + (vector ? "    return select(a, b, b " + op + " a);\n" : "    return b " + op + " a ? b : a;\n")
                + "}\n");
        return name;
    }

    /** float -> nearest half -> float, through a private half (core OpenCL 1.2: no cl_khr_fp16 needed). */
    String roundHalf() {
        String name = "kiln_round_half";
        sources.computeIfAbsent(name, n -> "static inline float " + n + "(float x) {\n    ushort h; // a half variable would need cl_khr_fp16; its bits do not\n"
                + "    vstore_half(x, 0, (half*)&h);\n    return vload_half(0, (const half*)&h);\n}\n");
        return name;
    }

    /** bfloat16 bits to float: the top half of the float's bits. */
    String bfloat16ToFloat() {
        String name = "kiln_bf16_to_float";
        sources.computeIfAbsent(name, n -> "static inline float " + n + "(ushort b) {\n    return as_float(((uint)b) << 16);\n}\n");
        return name;
    }

    /** float to bfloat16 bits, rounded to nearest even, a NaN kept quiet. */
    String floatToBfloat16() {
        String name = "kiln_float_to_bf16";
        sources.computeIfAbsent(name, n -> "static inline ushort " + n + "(float x) {\n    uint u = as_uint(x);\n"
                + "    if (isnan(x)) return (ushort)((u >> 16) | 0x40);\n"
                + "    return (ushort)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);\n}\n");
        return name;
    }

    boolean isEmpty() {
        return sources.isEmpty();
    }

    /** Every helper used so far, in the order first used. */
    String source() {
        return String.join("\n", sources.values());
    }
}
