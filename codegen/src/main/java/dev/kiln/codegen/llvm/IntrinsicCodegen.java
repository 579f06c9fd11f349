package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Intrinsic;
import java.util.List;
import org.bytedeco.llvm.LLVM.LLVMTypeRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * Math function calls of the loop IR. Rounding, sqrt and abs map to LLVM intrinsics (single
 * instructions). For f32, exp, log, tanh, erf, sigmoid and pow are Kiln's own vectorizable
 * implementations ({@link VectorMath}); everything else, and every f64 function, calls libm once
 * per lane (libdevice on a GPU). f16 is computed in f32.
 */
final class IntrinsicCodegen {
    private IntrinsicCodegen() {}

    static LLVMValueRef call(Ir ir, String kernel, Expr.Call c, List<LLVMValueRef> args) {
        Intrinsic fn = c.fn();
        int arity = fn.arity();
        if (args.size() != arity) {
            throw new CodegenException("kernel '" + kernel + "': " + fn + " takes " + arity + " argument(s), got "
                    + args.size() + ": " + c);
        }
        if (fn == Intrinsic.DOT4_U8S8) return dot4(ir, kernel, c, args);
        if (fn == Intrinsic.PAIR_BF16) return pairBf16(ir, kernel, c, args.get(0));
        if (fn == Intrinsic.DOT2_BF16) return dot2Bf16(ir, kernel, c, args);
        if (args.size() != arity) {
            throw new CodegenException("kernel '" + kernel + "': " + fn + " takes " + arity + " argument(s), got "
                    + args.size() + ": " + c);
        }
        ScalarType t = c.args().get(0).type().scalar();
        for (Expr a : c.args()) {
            if (a.type().scalar() != t) {
                throw new CodegenException("kernel '" + kernel + "': arguments of " + fn + " must have one type: " + c);
            }
        }
        int lanes = 1;
        for (LLVMValueRef a : args) lanes = Math.max(lanes, Ir.lanes(a));
        LLVMValueRef x = ir.splat(args.get(0), lanes);
        LLVMValueRef y = arity == 2 ? ir.splat(args.get(1), lanes) : null;
        switch (fn) {
            case ABS:
                if (t.isFloat) return ir.fabs(x);
                if (!t.isSigned) return x;
                return ir.intrinsic("llvm.abs", new LLVMTypeRef[] {LLVMTypeOf(x)}, x, LLVMConstInt(ir.i1(), 0, 0));
            case FLOOR, CEIL, ROUND_EVEN:
                if (!t.isFloat) return x;
                return ir.intrinsic1(switch (fn) {
                    case FLOOR -> "llvm.floor";
                    case CEIL -> "llvm.ceil";
                    default -> "llvm.roundeven";
                }, x);
            case IS_NAN, IS_INF: {
                LLVMValueRef r;
                if (!t.isFloat) {
                    r = LLVMConstNull(Ir.vec(ir.i1(), lanes));
                } else if (fn == Intrinsic.IS_NAN) {
                    r = ir.fcmp(LLVMRealUNO, x, x);
                } else {
                    r = ir.fcmp(LLVMRealOEQ, ir.fabs(x), ir.constFloat(LLVMTypeOf(x), Double.POSITIVE_INFINITY));
                }
                // The call's declared type may be numeric (Exprs.call takes the argument's type).
                ScalarType rt = c.type().scalar();
                if (rt == ScalarType.BOOL) return r;
                return ir.cast(rt.isFloat ? LLVMUIToFP : LLVMZExt, r, Ir.vec(ir.scalar(rt), lanes));
            }
            default:
                break;
        }
        if (!t.isFloat) {
            throw new CodegenException("kernel '" + kernel + "': " + fn + " needs a float argument, got " + t + ": " + c);
        }
        if (t == ScalarType.F16) {
            LLVMTypeRef f32 = Ir.vec(ir.f32(), lanes);
            LLVMValueRef r = floatCall(ir, fn, ScalarType.F32, ir.cast(LLVMFPExt, x, f32),
                    y == null ? null : ir.cast(LLVMFPExt, y, f32));
            return ir.cast(LLVMFPTrunc, r, LLVMTypeOf(x));
        }
        return floatCall(ir, fn, t, x, y);
    }

    /**
     * {@link Intrinsic#DOT4_U8S8}: one {@code vpdpbusd} where the target has it for the lane count
     * (AVX-512 VNNI: 16 lanes; AVX-VNNI or AVX-512 VNNI with VL: 8 and 4), else the bytes widened
     * to i32, multiplied and summed in groups of four (exact, any target).
     */
    private static LLVMValueRef dot4(Ir ir, String kernel, Expr.Call c, List<LLVMValueRef> args) {
        for (Expr a : c.args()) {
            if (a.type().scalar() != ScalarType.I32)
                throw new CodegenException("kernel '" + kernel + "': DOT4_U8S8 takes i32 arguments, got " + a.type() + ": " + c);
        }
        int lanes = 1;
        for (LLVMValueRef a : args) lanes = Math.max(lanes, Ir.lanes(a));
        LLVMValueRef acc = ir.splat(args.get(0), lanes), a = ir.splat(args.get(1), lanes), b = ir.splat(args.get(2), lanes);
        String vnni = vnniIntrinsic(ir.m.target(), lanes);
        if (vnni != null) {
            // The intrinsic's own parameter types (i32 vectors in LLVM 20, byte vectors in later releases).
            int id = LLVMLookupIntrinsicID(vnni, vnni.length());
            LLVMTypeRef ft = LLVMIntrinsicGetType(ir.ctx, id, Ir.pp(), 0);
            LLVMTypeRef[] params = new LLVMTypeRef[LLVMCountParamTypes(ft)];
            org.bytedeco.javacpp.PointerPointer<LLVMTypeRef> pp = new org.bytedeco.javacpp.PointerPointer<>(params.length);
            LLVMGetParamTypes(ft, pp);
            LLVMValueRef[] in = {acc, a, b};
            for (int i = 0; i < 3; i++) in[i] = ir.bitcast(in[i], new LLVMTypeRef(pp.get(i)));
            return ir.bitcast(ir.intrinsic(vnni, new LLVMTypeRef[0], in), LLVMTypeOf(acc));
        }
        LLVMTypeRef bytes = Ir.vec(ir.i8(), 4 * lanes), wide = Ir.vec(ir.i32(), 4 * lanes);
        LLVMValueRef products = ir.mul(ir.cast(LLVMZExt, ir.bitcast(a, bytes), wide), ir.cast(LLVMSExt, ir.bitcast(b, bytes), wide));
        LLVMValueRef r = acc;
        for (int j = 0; j < 4; j++) {
            LLVMValueRef[] mask = new LLVMValueRef[lanes];
            for (int l = 0; l < lanes; l++) mask[l] = ir.i32(4L * l + j);
            LLVMValueRef part = lanes == 1 ? ir.extract(products, j)
                    : LLVMBuildShuffleVector(ir.b, products, LLVMGetPoison(wide), LLVMConstVector(Ir.pp(mask), lanes), "");
            r = ir.add(r, part);
        }
        return r;
    }

    /** {@link Intrinsic#PAIR_BF16}: bf16 bits (i16 lanes) reinterpreted two to an i32 word, or one zero-extended. */
    private static LLVMValueRef pairBf16(Ir ir, String kernel, Expr.Call c, LLVMValueRef x) {
        int in = c.args().get(0).type().lanes(), out = c.type().lanes();
        if (c.args().get(0).type().scalar() != ScalarType.BF16 || c.type().scalar() != ScalarType.I32 || in != 2 * out && !(in == 1 && out == 1))
            throw new CodegenException("kernel '" + kernel + "': PAIR_BF16 takes 2n bf16 lanes (or one) and gives n i32 lanes: " + c);
        if (in == 1) return ir.cast(LLVMZExt, x, ir.i32());
        return ir.bitcast(x, Ir.vec(ir.i32(), out));
    }

    /**
     * {@link Intrinsic#DOT2_BF16}: one {@code vdpbf16ps} where the target has AVX-512 BF16 for the lane
     * count (16; 8 and 4 with VL), else the halves widened to f32 (a shift or a mask), multiplied
     * (exactly) and added to the accumulator one after the other, high pair first, as the instruction does.
     */
    private static LLVMValueRef dot2Bf16(Ir ir, String kernel, Expr.Call c, List<LLVMValueRef> args) {
        if (c.args().get(0).type().scalar() != ScalarType.F32 || c.args().get(1).type().scalar() != ScalarType.I32
                || c.args().get(2).type().scalar() != ScalarType.I32)
            throw new CodegenException("kernel '" + kernel + "': DOT2_BF16 takes an f32 accumulator and two i32 words of bf16 pairs: " + c);
        int lanes = 1;
        for (LLVMValueRef a : args) lanes = Math.max(lanes, Ir.lanes(a));
        LLVMValueRef acc = ir.splat(args.get(0), lanes), a = ir.splat(args.get(1), lanes), b = ir.splat(args.get(2), lanes);
        String dp = bf16Intrinsic(ir.m.target(), lanes);
        if (dp != null) {
            // The intrinsic's own parameter types (bfloat vectors in LLVM 20, i16 vectors in older releases).
            int id = LLVMLookupIntrinsicID(dp, dp.length());
            LLVMTypeRef ft = LLVMIntrinsicGetType(ir.ctx, id, Ir.pp(), 0);
            LLVMTypeRef[] params = new LLVMTypeRef[LLVMCountParamTypes(ft)];
            org.bytedeco.javacpp.PointerPointer<LLVMTypeRef> pp = new org.bytedeco.javacpp.PointerPointer<>(params.length);
            LLVMGetParamTypes(ft, pp);
            LLVMValueRef[] in = {acc, a, b};
            for (int i = 0; i < 3; i++) in[i] = ir.bitcast(in[i], new LLVMTypeRef(pp.get(i)));
            return ir.bitcast(ir.intrinsic(dp, new LLVMTypeRef[0], in), LLVMTypeOf(acc));
        }
        LLVMTypeRef i32 = LLVMTypeOf(a), f32 = LLVMTypeOf(acc);
        LLVMValueRef sixteen = ir.constInt(i32, 16), high = ir.constInt(i32, 0xffff0000L);
        LLVMValueRef a0 = ir.bitcast(ir.shl(a, sixteen), f32), a1 = ir.bitcast(ir.and(a, high), f32);
        LLVMValueRef b0 = ir.bitcast(ir.shl(b, sixteen), f32), b1 = ir.bitcast(ir.and(b, high), f32);
        LLVMValueRef r = ir.faddStrict(acc, ir.fmulStrict(a1, b1));
        return ir.faddStrict(r, ir.fmulStrict(a0, b0));
    }

    /** The x86 {@code vdpbf16ps} intrinsic for {@code lanes} f32 lanes on {@code target}, or null where there is none. */
    static String bf16Intrinsic(dev.kiln.targets.Target target, int lanes) {
        if (!(target instanceof dev.kiln.targets.CpuTarget cpu) || !cpu.arch().equals("x86_64")) return null;
        java.util.Set<String> f = java.util.Set.of(cpu.features().split(","));
        if (!f.contains("+avx512bf16")) return null;
        if (lanes == 16) return "llvm.x86.avx512bf16.dpbf16ps.512";
        if (lanes == 8 && f.contains("+avx512vl")) return "llvm.x86.avx512bf16.dpbf16ps.256";
        if (lanes == 4 && f.contains("+avx512vl")) return "llvm.x86.avx512bf16.dpbf16ps.128";
        return null;
    }

    /** The x86 {@code vpdpbusd} intrinsic for {@code lanes} i32 lanes on {@code target}, or null where there is none. */
    static String vnniIntrinsic(dev.kiln.targets.Target target, int lanes) {
        if (!(target instanceof dev.kiln.targets.CpuTarget cpu) || !cpu.arch().equals("x86_64")) return null;
        java.util.Set<String> f = java.util.Set.of(cpu.features().split(","));
        boolean avx512 = f.contains("+avx512vnni");
        if (lanes == 16 && avx512) return "llvm.x86.avx512.vpdpbusd.512";
        boolean narrow = f.contains("+avxvnni") || avx512 && f.contains("+avx512vl");
        if (lanes == 8 && narrow) return "llvm.x86.avx512.vpdpbusd.256";
        if (lanes == 4 && narrow) return "llvm.x86.avx512.vpdpbusd.128";
        return null;
    }

    private static LLVMValueRef floatCall(Ir ir, Intrinsic fn, ScalarType t, LLVMValueRef x, LLVMValueRef y) {
        boolean f32 = t == ScalarType.F32;
        return switch (fn) {
            case SQRT -> ir.intrinsic1("llvm.sqrt", x);
            case EXP -> f32 ? VectorMath.exp(ir, x) : libm(ir, "exp", x);
            case LOG -> f32 ? VectorMath.log(ir, x) : libm(ir, "log", x);
            case TANH -> f32 ? VectorMath.tanh(ir, x) : libm(ir, "tanh", x);
            case ERF -> f32 ? VectorMath.erf(ir, x) : libm(ir, "erf", x);
            case SIGMOID -> {
                if (f32) yield VectorMath.sigmoid(ir, x);
                LLVMValueRef one = ir.constFloat(LLVMTypeOf(x), 1);
                yield ir.fdiv(one, ir.fadd(one, libm(ir, "exp", ir.fneg(x))));
            }
            case POW -> pow(ir, f32, x, y);
            case ATAN2 -> libm(ir, f32 ? "atan2f" : "atan2", x, y);
            case SIN, COS, TAN, ASIN, ACOS, ATAN, SINH, COSH, ASINH, ACOSH, ATANH -> {
                String name = fn.name().toLowerCase();
                yield libm(ir, f32 ? name + "f" : name, x);
            }
            default -> throw new IllegalStateException("unhandled intrinsic " + fn);
        };
    }

    /** x^y; common constant exponents become multiplies or a square root. */
    private static LLVMValueRef pow(Ir ir, boolean f32, LLVMValueRef x, LLVMValueRef y) {
        Double e = Ir.constFloatValue(y);
        LLVMTypeRef t = LLVMTypeOf(x);
        LLVMValueRef one = ir.constFloat(t, 1);
        if (e != null) {
            if (e == 0) return one;
            if (e == 1) return x;
            if (e == 2) return ir.fmul(x, x);
            if (e == 3) return ir.fmul(ir.fmul(x, x), x);
            if (e == 4) {
                LLVMValueRef sq = ir.fmul(x, x);
                return ir.fmul(sq, sq);
            }
            if (e == -1) return ir.fdiv(one, x);
            if (e == -2) return ir.fdiv(one, ir.fmul(x, x));
            if (e == 0.5 || e == -0.5) {
                // pow(-0, .5) is +0 and pow(-inf, .5) is +inf, where sqrt gives -0 and NaN.
                LLVMValueRef inf = ir.constFloat(t, Double.POSITIVE_INFINITY);
                LLVMValueRef s = ir.fadd(ir.intrinsic1("llvm.sqrt", x), ir.constFloat(t, 0));
                s = ir.select(ir.fcmp(LLVMRealOEQ, x, ir.fneg(inf)), inf, s);
                return e > 0 ? s : ir.fdiv(one, s);
            }
        }
        return f32 ? VectorMath.pow(ir, x, y) : libm(ir, "pow", x, y);
    }

    /**
     * Calls the libm function {@code name} on each lane (libm has no vector entry points). On a
     * GPU it is libdevice's {@code __nv_NAME}, linked into the module by {@link Libdevice}.
     */
    static LLVMValueRef libm(Ir ir, String name, LLVMValueRef... args) {
        if (ir.m.target() instanceof dev.kiln.targets.GpuTarget) name = Libdevice.PREFIX + name;
        LLVMTypeRef vt = LLVMTypeOf(args[0]);
        LLVMTypeRef st = Ir.elementType(vt);
        LLVMTypeRef[] params = new LLVMTypeRef[args.length];
        java.util.Arrays.fill(params, st);
        LLVMValueRef fn = LLVMGetNamedFunction(ir.m.module(), name);
        if (Ir.isNull(fn)) {
            fn = LLVMAddFunction(ir.m.module(), name, LLVMFunctionType(st, Ir.pp(params), params.length, 0));
            ir.m.addAttribute(fn, LLVMAttributeFunctionIndex, "nounwind");
            ir.m.addAttribute(fn, LLVMAttributeFunctionIndex, "willreturn");
            // libm only writes errno, which generated code never reads: let LLVM hoist and combine calls.
            ir.m.addAttribute(fn, LLVMAttributeFunctionIndex, "memory", 0);
        }
        int lanes = Ir.lanes(args[0]);
        if (lanes == 1) return ir.call(fn, args);
        LLVMValueRef r = LLVMGetPoison(vt);
        for (int i = 0; i < lanes; i++) {
            LLVMValueRef[] lane = new LLVMValueRef[args.length];
            for (int k = 0; k < args.length; k++) lane[k] = ir.extract(args[k], i);
            r = ir.insert(r, ir.call(fn, lane), i);
        }
        return r;
    }
}
