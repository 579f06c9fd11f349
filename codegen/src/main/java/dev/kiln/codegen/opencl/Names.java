package dev.kiln.codegen.opencl;

import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * C identifiers for IR names: the IR name with every other character turned into {@code _}, and
 * a suffix {@code _1}, {@code _2}, ... where that would meet a keyword, a builtin the printed code
 * calls, or a name already taken in the same kernel (or program, for kernel names).
 */
final class Names {
    private static final Set<String> RESERVED = Set.of(
            // C99
            "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern", "float",
            "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed", "sizeof",
            "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool", "true", "false",
            // OpenCL C
            "uchar", "ushort", "uint", "ulong", "half", "size_t", "ptrdiff_t", "intptr_t", "uintptr_t", "global", "local",
            "constant", "private", "kernel", "read_only", "write_only", "read_write", "image2d_t", "image3d_t", "sampler_t",
            "event_t", "complex", "imaginary",
            // builtins and macros the printer uses
            "exp", "log", "sqrt", "tanh", "erf", "pow", "fabs", "abs", "floor", "ceil", "rint", "sin", "cos", "tan", "asin",
            "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "atan2", "isnan", "isinf", "fmod", "min", "max",
            "select", "barrier", "INFINITY", "NAN", "CLK_LOCAL_MEM_FENCE", "CLK_GLOBAL_MEM_FENCE", "main");
    /** Vector type names ({@code float4}) and builtin families ({@code convert_int4}, {@code vload4}, {@code get_local_id}). */
    private static final Pattern RESERVED_PATTERN = Pattern.compile(
            "(char|uchar|short|ushort|int|uint|long|ulong|float|double|half|bool)(2|3|4|8|16)|(convert_|as_|vload|vstore|get_|kiln_|__|cl_|CL_).*");

    private final Set<String> taken = new HashSet<>();

    /** A fresh identifier close to {@code irName}. */
    String fresh(String irName) {
        String base = sanitize(irName);
        String name = base;
        for (int k = 1; taken.contains(name) || reserved(name); k++) name = base + "_" + k;
        taken.add(name);
        return name;
    }

    static String sanitize(String irName) {
        StringBuilder b = new StringBuilder(irName.length() + 1);
        for (char c : irName.toCharArray()) b.append(c < 128 && (Character.isLetterOrDigit(c) || c == '_') ? c : '_');
        if (b.isEmpty() || Character.isDigit(b.charAt(0))) b.insert(0, 'v');
        return b.toString();
    }

    private static boolean reserved(String name) {
        return RESERVED.contains(name) || RESERVED_PATTERN.matcher(name).matches();
    }
}
