package dev.kiln.codegen.opencl;

import static dev.kiln.codegen.opencl.OpenClTypes.maskElement;
import static dev.kiln.codegen.opencl.OpenClTypes.memoryVector;
import static dev.kiln.codegen.opencl.OpenClTypes.of;
import static dev.kiln.codegen.opencl.OpenClTypes.promotes;
import static dev.kiln.codegen.opencl.OpenClTypes.scalar;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Expr.*;
import dev.kiln.irlow.expr.Intrinsic;
import dev.kiln.irlow.interp.Scalars;
import dev.kiln.irlow.transform.Bounds;
import java.util.ArrayList;
import java.util.List;

/**
 * Prints loop-IR expressions as OpenCL C with the semantics of Kiln's interpreter and CPU
 * backend: floor division and modulo on signed integers, narrow integer results wrapped to their
 * type, float to integer truncating, float min/max that propagate a NaN first operand, and
 * selects that evaluate both sides. Parentheses only where C's precedence needs them.
 *
 * <p>Vectors: a stride-1 ramp index loads with {@code vloadN}; other vector indices gather lane
 * by lane, through a temporary declared before the statement when the index is not a simple ramp.
 */
final class ExprPrinter {
    // C precedence levels, higher binds tighter
    static final int TERNARY = 3, LOR = 4, BOR = 6, BXOR = 7, BAND = 8, EQ = 9, REL = 10, SHIFT = 11, ADD = 12, MUL = 13,
            UNARY = 14, ATOM = 16;

    /** Printed text and the precedence of its outermost operator. */
    record P(String text, int prec) {}

    private final KernelPrinter k;
    private final Helpers helpers;

    ExprPrinter(KernelPrinter k, Helpers helpers) {
        this.k = k;
        this.helpers = helpers;
    }

    /** {@code e} as a C expression, without outer parentheses. */
    String print(Expr e) {
        return p(e).text();
    }

    private OpenClException error(String msg) {
        return new OpenClException("kernel " + k.irName() + ": " + msg);
    }

    private String at(Expr e, int minPrec) {
        P x = p(e);
        return x.prec() >= minPrec ? x.text() : "(" + x.text() + ")";
    }

    private static P atom(String s) {
        return new P(s, ATOM);
    }

    /** {@code e} widened to {@code lanes} lanes (a scalar becomes a vector literal), for builtins that need equal widths. */
    private String widened(Expr e, int lanes, int minPrec) {
        P x = widenedP(e, lanes);
        return x.prec() >= minPrec ? x.text() : "(" + x.text() + ")";
    }

    private P widenedP(Expr e, int lanes) {
        return e.type().lanes() == lanes ? p(e) : broadcast(p(e), e.type().scalar(), lanes);
    }

    private static P broadcast(P scalarValue, ScalarType t, int lanes) {
        if (t == ScalarType.BOOL) return atom("(char" + lanes + ")(-(" + scalarValue.text() + "))");
        return atom("(" + scalar(t) + lanes + ")(" + scalarValue.text() + ")");
    }

    /** Casts a scalar result of a type C promotes to int back to that type, so it wraps like the IR. */
    private static P wrapNarrow(Type t, P x) {
        if (t.lanes() > 1 || !promotes(t.scalar())) return x;
        return new P("(" + scalar(t.scalar()) + ")(" + x.text() + ")", UNARY);
    }

    private P p(Expr e) {
        OpenClTypes.check(e.type(), "kernel " + k.irName());
        OpenClTypes.checkHalfStorage(e.type(), "kernel " + k.irName());
        k.noteType(e.type());
        P x = value(e);
        // An f16 result is computed in float and rounded to half precision, as f16 arithmetic rounds.
        boolean exact = e instanceof Load || e instanceof Var || e instanceof FloatImm || e instanceof IntImm;
        if (e.type().scalar() == ScalarType.F16 && !exact) return atom(helpers.roundHalf() + "(" + x.text() + ")");
        return x;
    }

    private P value(Expr e) {
        return switch (e) {
            case IntImm(Type t, long v) -> intLiteral(t, v, false);
            case FloatImm(Type t, double v) -> floatLiteral(t, v);
            case Var v -> atom(k.varName(v));
            case Add(Expr a, Expr b) -> arith(e, a, "+", b, ADD);
            case Sub(Expr a, Expr b) -> arith(e, a, "-", b, ADD);
            case Mul(Expr a, Expr b) -> arith(e, a, "*", b, MUL);
            case Div(Expr a, Expr b) -> div(e, a, b, true);
            case Mod(Expr a, Expr b) -> div(e, a, b, false);
            case Min(Expr a, Expr b) -> minMax(e, a, b, true);
            case Max(Expr a, Expr b) -> minMax(e, a, b, false);
            case Cmp(CmpOp op, Expr a, Expr b) -> compare(op, a, b);
            // Comparisons joined by & or | get parentheses: legal without, but clang warns and readers pause.
            case And(Expr a, Expr b) -> new P(at(a, SHIFT) + " & " + at(b, SHIFT), BAND);
            case Or(Expr a, Expr b) -> new P(at(a, SHIFT) + " | " + at(b, SHIFT), BOR);
            case Not(Expr a) -> a.type().isBool() && a.type().lanes() == 1 ? new P("!" + at(a, UNARY), UNARY)
                    : wrapNarrow(e.type(), new P("~" + at(a, UNARY), UNARY));
            case Select s -> select(s);
            case Cast(Type to, Expr v) -> cast(to, v);
            case Load(Buffer buf, Expr index) -> load(buf, index);
            case Ramp(Expr base, Expr stride, int lanes) -> ramp(base, stride, lanes);
            case Broadcast(Expr v, int lanes) -> {
                if (v.type().lanes() == 1) yield broadcast(p(v), v.type().scalar(), lanes);
                // a vector repeated: lane j is v[j % m], as the interpreter defines nested broadcasts
                String x = simple(v) ? at(v, ATOM) : k.temp("rep", of(v.type()), print(v));
                List<String> parts = new ArrayList<>();
                for (int j = 0; j < lanes / v.type().lanes(); j++) parts.add(x);
                yield atom("(" + of(e.type()) + ")(" + String.join(", ", parts) + ")");
            }
            case Call c -> call(c);
            case TensorRead r -> throw error("a tensor read of " + r.tensor().name()
                    + " was not lowered; the OpenCL printer takes loop IR after lowering");
            case Reduce r -> throw error("a reduction was not lowered; the OpenCL printer takes loop IR after lowering");
        };
    }

    // ---- constants

    private P intLiteral(Type t, long v, boolean forceLong) {
        ScalarType s = t.scalar();
        v = Scalars.wrap(s, v);
        String text = switch (s) {
            case BOOL -> v != 0 ? "true" : "false";
            case I64 -> v == Long.MIN_VALUE ? "(-9223372036854775807L - 1)"
                    : v == (int) v && !forceLong ? Long.toString(v) : v + "L";
            case I32 -> v == Integer.MIN_VALUE ? "(-2147483647 - 1)" : Long.toString(v);
            case U32 -> v + "u";
            case U64 -> Long.toUnsignedString(v) + "ul";
            default -> "(" + scalar(s) + ")" + v;
        };
        P lit = new P(text, text.startsWith("-") || text.startsWith("(" + scalar(s)) ? UNARY : ATOM);
        return t.lanes() > 1 ? broadcast(lit, s, t.lanes()) : lit;
    }

    private static P floatLiteral(Type t, double v) {
        boolean f32 = t.scalar() == ScalarType.F32;
        String text;
        if (Double.isNaN(v)) text = f32 ? "NAN" : "(double)NAN";
        else if (Double.isInfinite(v)) text = (v < 0 ? "-" : "") + (f32 ? "INFINITY" : "(double)INFINITY");
        else text = f32 ? Float.toString((float) v) + "f" : Double.toString(v);
        P lit = new P(text, text.startsWith("-") || text.startsWith("(") ? UNARY : ATOM);
        return t.lanes() > 1 ? broadcast(lit, t.scalar(), t.lanes()) : lit;
    }

    private static boolean simple(Expr e) {
        return e instanceof Var || e instanceof IntImm || e instanceof FloatImm;
    }

    // ---- arithmetic

    private void sameScalar(Expr e, Expr a, Expr b) {
        Type ta = a.type(), tb = b.type();
        if (ta.scalar() != tb.scalar() || (ta.lanes() != tb.lanes() && ta.lanes() != 1 && tb.lanes() != 1))
            throw error("operands of " + e.getClass().getSimpleName() + " have types " + ta + " and " + tb
                    + " (they must match; insert a Cast): " + e);
    }

    /** A C operator; a scalar meets a vector by OpenCL's implicit widening. */
    private P arith(Expr e, Expr a, String op, Expr b, int prec) {
        sameScalar(e, a, b);
        String left = a instanceof IntImm(Type t, long v) && b instanceof IntImm && t.scalar() == ScalarType.I64
                ? intLiteral(t, v, true).text() // two int literals would multiply as 32-bit ints
                : at(a, prec);
        return wrapNarrow(e.type(), new P(left + " " + op + " " + at(b, prec + 1), prec));
    }

    private P div(Expr e, Expr a, Expr b, boolean isDiv) {
        sameScalar(e, a, b);
        ScalarType t = e.type().scalar();
        if (t.isFloat) return isDiv ? arith(e, a, "/", b, MUL) : call("fmod", e.type(), a, b);
        if (t == ScalarType.BOOL) throw error((isDiv ? "Div" : "Mod") + " on bool is not defined: " + e);
        if (!t.isSigned) return arith(e, a, isDiv ? "/" : "%", b, MUL); // unsigned: truncating is floor
        if (b instanceof IntImm(var bt, long c) && c > 0) {
            if (Long.bitCount(c) == 1 && !(a instanceof IntImm)) {
                // floor division by 2^n is an arithmetic shift, floor modulo a mask, also for negative a
                return isDiv ? wrapNarrow(e.type(), new P(at(a, SHIFT) + " >> " + Long.numberOfTrailingZeros(c), SHIFT))
                        : wrapNarrow(e.type(), new P(at(a, BAND) + " & " + (c - 1), BAND));
            }
            if (Bounds.of(a, k.ranges()).lo() >= 0) return arith(e, a, isDiv ? "/" : "%", b, MUL); // C truncation is floor here
        }
        int lanes = e.type().lanes();
        String type = of(e.type());
        String fn = isDiv ? helpers.floorDiv(type, lanes > 1) : helpers.floorMod(type, lanes > 1);
        return atom(fn + "(" + widened(a, lanes, TERNARY + 1) + ", " + widened(b, lanes, TERNARY + 1) + ")");
    }

    private P minMax(Expr e, Expr a, Expr b, boolean min) {
        sameScalar(e, a, b);
        ScalarType t = e.type().scalar();
        int lanes = e.type().lanes();
        if (t == ScalarType.BOOL) return min ? new P(at(a, BAND) + " & " + at(b, BAND + 1), BAND)
                : new P(at(a, BOR) + " | " + at(b, BOR + 1), BOR);
        // Scalar integers go through the typed helper too: the builtin max(long, int) is ambiguous.
        String fn = t.isFloat || lanes == 1 ? helpers.minMax(of(e.type()), lanes > 1, min) : min ? "min" : "max";
        return atom(fn + "(" + widened(a, lanes, TERNARY + 1) + ", " + widened(b, lanes, TERNARY + 1) + ")");
    }

    private P rawCompare(CmpOp op, Expr a, Expr b) {
        if (a.type().scalar() != b.type().scalar()) throw error("comparison of " + a.type() + " with " + b.type() + ": " + a + " " + op.symbol + " " + b);
        int prec = op == CmpOp.EQ || op == CmpOp.NE ? EQ : REL;
        return new P(at(a, prec) + " " + op.symbol + " " + at(b, prec + 1), prec);
    }

    private P compare(CmpOp op, Expr a, Expr b) {
        P x = rawCompare(op, a, b);
        int lanes = Math.max(a.type().lanes(), b.type().lanes());
        // a vector comparison gives a mask as wide as its operands' elements; bool vectors are char masks
        if (lanes == 1 || a.type().scalar().bytes() == 1) return x;
        return atom("convert_char" + lanes + "(" + x.text() + ")");
    }

    private P select(Select s) {
        Type tt = s.t().type(), tf = s.f().type(), tc = s.cond().type();
        if (tt.scalar() != tf.scalar() || !tc.isBool())
            throw error("select needs a bool condition and branches of one type, got " + tc + ", " + tt + ", " + tf + ": " + s);
        int lanes = Math.max(Math.max(tt.lanes(), tf.lanes()), tc.lanes());
        if (tc.lanes() == 1)
            // A condition that is not a single term gets parentheses: clang warns on `a & b ? x : y`.
            return new P(at(s.cond(), EQ) + " ? " + widened(s.t(), lanes, TERNARY) + " : " + widened(s.f(), lanes, TERNARY), TERNARY);
        String mask;
        if (tt.isBool() || tt.scalar().bytes() == 1) mask = print(s.cond());
        else if (s.cond() instanceof Cmp c && c.a().type().scalar().bytes() == tt.scalar().bytes()
                && Math.max(c.a().type().lanes(), c.b().type().lanes()) == lanes)
            mask = rawCompare(c.op(), c.a(), c.b()).text(); // the comparison's own mask already has the right width
        else mask = "convert_" + maskElement(tt.scalar()) + lanes + "(" + print(s.cond()) + ")";
        return atom("select(" + widened(s.f(), lanes, TERNARY + 1) + ", " + widened(s.t(), lanes, TERNARY + 1) + ", " + mask + ")");
    }

    // ---- conversions

    private P cast(Type to, Expr v) {
        Type from = v.type();
        int lanes = Math.max(to.lanes(), from.lanes());
        ScalarType s = from.scalar(), d = to.scalar();
        if (from.lanes() == 1 && lanes > 1) return broadcast(scalarCast(s, d, v), d, lanes);
        if (lanes == 1) return scalarCast(s, d, v);
        if (s == d) return p(v);
        String x = print(v);
        String target = of(new Type(d, lanes));
        if (d == ScalarType.BOOL) {
            String ne = at(v, EQ) + " != (" + of(from) + ")(0)";
            return s.bytes() == 1 ? new P(ne, EQ) : atom("convert_char" + lanes + "(" + ne + ")");
        }
        if (s == ScalarType.BOOL) return atom("convert_" + target + "(-" + at(v, UNARY) + ")"); // a true lane is -1
        if (s.isFloat && d.isInt() && d.bits < 64) // truncate toward zero, then wrap, as the interpreter does
            return atom("convert_" + target + "(convert_long" + lanes + "(" + x + "))");
        return atom("convert_" + target + "(" + x + ")");
    }

    private P scalarCast(ScalarType s, ScalarType d, Expr v) {
        if (s == d) return p(v);
        if (s == ScalarType.BF16) {
            P f = atom(helpers.bfloat16ToFloat() + "(" + print(v) + ")");
            return d == ScalarType.F32 ? f : new P("(" + scalar(d) + ")" + f.text(), UNARY);
        }
        if (d == ScalarType.BF16) return atom(helpers.floatToBfloat16() + "((float)" + at(v, UNARY) + ")");
        if (d == ScalarType.BOOL) return new P(at(v, EQ) + " != 0", EQ);
        if (s.isFloat && d.isInt() && d.bits < 64) return new P("(" + scalar(d) + ")(long)" + at(v, UNARY), UNARY);
        return new P("(" + scalar(d) + ")" + at(v, UNARY), UNARY);
    }

    // ---- memory and vectors

    /** The first index of a contiguous ramp (scalar base, stride 1), or null. */
    static Expr denseBase(Expr index) {
        if (index instanceof Ramp(Expr base, IntImm(var t, long stride), int lanes) && base.type().lanes() == 1 && stride == 1) return base;
        return null;
    }

    private P load(Buffer buf, Expr index) {
        String p = k.bufferName(buf);
        ScalarType t = buf.dtype();
        int lanes = index.type().lanes();
        if (index.type().isFloat()) throw error("load of " + buf.name() + " at a float index: " + index);
        if (lanes == 1) {
            if (t == ScalarType.F16) return atom("vload_half(" + print(index) + ", " + p + ")");
            String x = p + "[" + print(index) + "]";
            return t == ScalarType.BOOL ? new P(x + " != 0", EQ) : atom(x);
        }
        OpenClTypes.check(new Type(t, lanes), "kernel " + k.irName());
        if (index instanceof Broadcast(Expr i, int n) && i.type().lanes() == 1) {
            String x = p + "[" + print(i) + "]";
            return broadcast(t == ScalarType.BOOL ? new P(x + " != 0", EQ) : atom(x), t, lanes);
        }
        Expr base = denseBase(index);
        String raw;
        if (k.vectorLanes(buf) > 1) {
            raw = k.vectorElement(buf, base);
        } else if (base != null) {
            raw = "vload" + lanes + "(0, " + pointerPlus(p, base) + ")";
        } else {
            List<String> lanesText = new ArrayList<>();
            for (String i : laneIndices(index)) lanesText.add(p + "[" + i + "]");
            raw = "(" + memoryVector(t, lanes) + ")(" + String.join(", ", lanesText) + ")";
        }
        return t == ScalarType.BOOL ? atom("(" + raw + " != (uchar" + lanes + ")(0))") : atom(raw);
    }

    String pointerPlus(String p, Expr base) {
        if (base instanceof IntImm(var t, long v) && v == 0) return p;
        return p + " + " + at(base, ADD + 1);
    }

    /** The index of each lane of a vector index, as C text; a non-ramp index goes through a temporary. */
    List<String> laneIndices(Expr index) {
        int lanes = index.type().lanes();
        List<String> out = new ArrayList<>();
        if (index instanceof Ramp(Expr base, Expr stride, int n) && base.type().lanes() == 1) {
            String b = simple(base) ? at(base, ADD) : k.temp("base", of(base.type()), print(base));
            for (int j = 0; j < n; j++) {
                if (j == 0) out.add(b);
                else if (stride instanceof IntImm(var st, long c)) out.add(c * j >= 0 ? b + " + " + c * j : b + " - " + -(c * j));
                else out.add(b + " + " + j + " * " + at(stride, MUL + 1));
            }
            return out;
        }
        String v = simple(index) ? at(index, ATOM) : k.temp("idx", of(index.type()), print(index));
        for (int j = 0; j < lanes; j++) out.add(v + ".s" + Character.toUpperCase(Character.forDigit(j, 16)));
        return out;
    }

    private P ramp(Expr base, Expr stride, int lanes) {
        if (base.type().lanes() != 1) throw error("a ramp with a vector base (" + base.type() + ") is not supported by the OpenCL printer");
        ScalarType t = base.type().scalar();
        String vt = of(base.type().withLanes(lanes));
        List<String> offsets = new ArrayList<>();
        boolean constStride = stride instanceof IntImm;
        for (int j = 0; j < lanes; j++) {
            if (constStride) offsets.add(Long.toString(((IntImm) stride).value() * j));
            else offsets.add(t.isFloat ? floatLiteral(Type.of(t), j).text() : Integer.toString(j));
        }
        String steps = "(" + vt + ")(" + String.join(", ", offsets) + ")";
        String scaled = constStride ? steps : steps + " * " + at(stride, MUL + 1);
        return new P(at(base, ADD) + " + " + scaled, ADD);
    }

    // ---- intrinsics

    private P call(String fn, Type type, Expr... args) {
        List<String> texts = new ArrayList<>();
        for (Expr a : args) texts.add(widened(a, type.lanes(), TERNARY + 1));
        return atom(fn + "(" + String.join(", ", texts) + ")");
    }

    private P call(Call c) {
        Type type = c.type();
        Expr x = c.args().getFirst();
        int lanes = type.lanes();
        switch (c.fn()) {
            case IS_NAN, IS_INF -> {
                String fn = c.fn() == Intrinsic.IS_NAN ? "isnan" : "isinf";
                if (!x.type().isFloat()) return intLiteral(new Type(ScalarType.BOOL, lanes), 0, false);
                P r = call(fn, x.type(), x);
                return lanes == 1 ? r : atom("convert_char" + lanes + "(" + r.text() + ")");
            }
            case ABS -> {
                ScalarType t = x.type().scalar();
                if (t.isFloat) return call("fabs", type, x);
                if (!t.isSigned || t == ScalarType.BOOL) return p(x);
                // OpenCL's abs returns the unsigned type; reinterpret, so abs(INT_MIN) wraps as in the IR
                P r = call("abs", type, x);
                return lanes == 1 ? new P("(" + scalar(t) + ")" + r.text(), UNARY) : atom("as_" + of(type) + "(" + r.text() + ")");
            }
            case DOT4_U8S8 -> {
                return dot4(c);
            }
            case PAIR_BF16, DOT2_BF16 -> throw error(c.fn() + " (the bf16 matrix product of CPUs with AVX-512 BF16) has no OpenCL C spelling: " + c);
            default -> {
            }
        }
        for (Expr a : c.args())
            if (!a.type().isFloat()) throw error(c.fn() + " needs float arguments, got " + a.type() + ": " + c);
        Expr[] args = c.args().toArray(Expr[]::new);
        String fn = switch (c.fn()) {
            case EXP -> "exp";
            case LOG -> "log";
            case SQRT -> "sqrt";
            case TANH -> "tanh";
            case ERF -> "erf";
            case POW -> "pow";
            case FLOOR -> "floor";
            case CEIL -> "ceil";
            case ROUND_EVEN -> "rint"; // round to nearest, ties to even, in the default rounding mode
            case SIN -> "sin";
            case COS -> "cos";
            case TAN -> "tan";
            case ASIN -> "asin";
            case ACOS -> "acos";
            case ATAN -> "atan";
            case SINH -> "sinh";
            case COSH -> "cosh";
            case ASINH -> "asinh";
            case ACOSH -> "acosh";
            case ATANH -> "atanh";
            case ATAN2 -> "atan2";
            case SIGMOID -> null;
            case IS_NAN, IS_INF, ABS, DOT4_U8S8, PAIR_BF16, DOT2_BF16 -> throw new AssertionError();
        };
        if (fn == null) { // OpenCL C has no sigmoid: 1 / (1 + exp(-x)), as the interpreter computes it
            String one = type.scalar() == ScalarType.F64 ? "1.0" : "1.0f";
            return new P(one + " / (" + one + " + exp(-" + at(x, UNARY) + "))", MUL);
        }
        int arity = c.fn() == Intrinsic.POW || c.fn() == Intrinsic.ATAN2 ? 2 : 1;
        if (args.length != arity) throw error(c.fn() + " takes " + arity + " argument(s), got " + args.length + ": " + c);
        return call(fn, type, args);
    }

    /**
     * {@link Intrinsic#DOT4_U8S8} spelled out on int lanes: byte j of a unsigned, byte j of b sign-extended
     * by {@code (x ^ 0x80) - 0x80}, which needs no implementation-defined shift of a negative value.
     */
    private P dot4(Call c) {
        if (c.args().size() != 3) throw error("DOT4_U8S8 takes 3 arguments, got " + c.args().size() + ": " + c);
        for (Expr a : c.args())
            if (a.type().scalar() != ScalarType.I32) throw error("DOT4_U8S8 takes i32 arguments, got " + a.type() + ": " + c);
        int lanes = c.type().lanes();
        String acc = widened(c.args().get(0), lanes, ATOM), a = widened(c.args().get(1), lanes, ATOM), b = widened(c.args().get(2), lanes, ATOM);
        StringBuilder sb = new StringBuilder(acc);
        for (int j = 0; j < 4; j++) {
            String shift = j == 0 ? "" : " >> " + 8 * j;
            sb.append(" + ((").append(a).append(shift).append(") & 0xff) * ((((").append(b).append(shift).append(") & 0xff) ^ 0x80) - 0x80)");
        }
        return new P(sb.toString(), ADD);
    }

    /** The C expression that stores {@code value} (of the buffer's type, or bool) into memory of type {@code t}. */
    String toMemory(ScalarType t, Expr value, int lanes) {
        if (t != ScalarType.BOOL || lanes == 1) return widened(value, lanes, TERNARY + 1);
        return "convert_" + memoryVector(t, lanes) + "(-" + widened(value, lanes, UNARY) + ")"; // a true lane is -1
    }
}
