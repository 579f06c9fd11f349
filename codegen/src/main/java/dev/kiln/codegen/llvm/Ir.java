package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.llvm.LLVM.LLVMBuilderRef;
import org.bytedeco.llvm.LLVM.LLVMContextRef;
import org.bytedeco.llvm.LLVM.LLVMTypeRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * Typed helpers over one LLVM instruction builder, shared by the kernel, expression and math
 * code generators. Float operations carry the {@code contract} flag (and nothing else), so LLVM may
 * fuse a multiply and an add into an FMA but keeps IEEE semantics otherwise; the {@code Strict}
 * ones carry none (see {@link ExprCodegen} for which the loop IR's arithmetic gets).
 * Constants given for a vector type are splatted.
 */
final class Ir {
    final LlvmModule m;
    final LLVMContextRef ctx;
    final LLVMBuilderRef b;

    Ir(LlvmModule m, LLVMBuilderRef b) {
        this.m = m;
        this.ctx = m.context();
        this.b = b;
    }

    /** A native array of pointers; never call {@code new PointerPointer<>(single)} (a cast constructor). */
    static PointerPointer<Pointer> pp(Pointer... ps) {
        return new PointerPointer<>(ps);
    }

    static boolean isNull(Pointer p) {
        return p == null || p.isNull();
    }

    // ---- types

    LLVMTypeRef i1() { return LLVMInt1TypeInContext(ctx); }
    LLVMTypeRef i8() { return LLVMInt8TypeInContext(ctx); }
    LLVMTypeRef i32() { return LLVMInt32TypeInContext(ctx); }
    LLVMTypeRef i64() { return LLVMInt64TypeInContext(ctx); }
    LLVMTypeRef f32() { return LLVMFloatTypeInContext(ctx); }
    LLVMTypeRef ptr() { return LLVMPointerTypeInContext(ctx, 0); }
    LLVMTypeRef voidType() { return LLVMVoidTypeInContext(ctx); }

    static LLVMTypeRef vec(LLVMTypeRef elem, int lanes) {
        return lanes == 1 ? elem : LLVMVectorType(elem, lanes);
    }

    /** The register type of a scalar: bool is i1. */
    LLVMTypeRef scalar(ScalarType t) {
        return switch (t) {
            case BOOL -> i1();
            case I8, U8 -> i8();
            case I16, U16 -> LLVMInt16TypeInContext(ctx);
            case I32, U32 -> i32();
            case I64, U64 -> i64();
            case F16 -> LLVMHalfTypeInContext(ctx);
            case BF16 -> LLVMInt16TypeInContext(ctx); // its bit pattern: converted by shifts (ExprCodegen.cast)
            case F32 -> f32();
            case F64 -> LLVMDoubleTypeInContext(ctx);
        };
    }

    /** The in-memory type of a buffer element: bool is one byte. */
    LLVMTypeRef memory(ScalarType t) {
        return t == ScalarType.BOOL ? i8() : scalar(t);
    }

    LLVMTypeRef type(Type t) {
        return vec(scalar(t.scalar()), t.lanes());
    }

    static int lanes(LLVMValueRef v) {
        LLVMTypeRef t = LLVMTypeOf(v);
        return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetVectorSize(t) : 1;
    }

    static LLVMTypeRef elementType(LLVMTypeRef t) {
        return LLVMGetTypeKind(t) == LLVMVectorTypeKind ? LLVMGetElementType(t) : t;
    }

    // ---- constants

    LLVMValueRef constInt(LLVMTypeRef t, long v) {
        LLVMTypeRef e = elementType(t);
        return splatConst(t, scalarInt(e, v));
    }

    /** The integer constant v of type t: negative values sign-extend, others are taken as unsigned. */
    static LLVMValueRef scalarInt(LLVMTypeRef t, long v) {
        if (LLVMGetIntTypeWidth(t) == 1) return LLVMConstInt(t, v & 1, 0);
        return LLVMConstInt(t, v, v < 0 ? 1 : 0);
    }

    LLVMValueRef constFloat(LLVMTypeRef t, double v) {
        return splatConst(t, LLVMConstReal(elementType(t), v));
    }

    LLVMValueRef i64(long v) { return scalarInt(i64(), v); }
    LLVMValueRef i32(long v) { return scalarInt(i32(), v); }

    private static LLVMValueRef splatConst(LLVMTypeRef t, LLVMValueRef scalar) {
        if (LLVMGetTypeKind(t) != LLVMVectorTypeKind) return scalar;
        int n = LLVMGetVectorSize(t);
        LLVMValueRef[] lanes = new LLVMValueRef[n];
        java.util.Arrays.fill(lanes, scalar);
        return LLVMConstVector(pp(lanes), n);
    }

    /** The constant integer value of {@code v} (a constant int or a splat of one), or null. */
    static Long constIntValue(LLVMValueRef v) {
        LLVMValueRef s = splatElement(v);
        if (s == null || isNull(LLVMIsAConstantInt(s))) return null;
        return LLVMConstIntGetSExtValue(s);
    }

    /** The constant float value of {@code v} (a constant float or a splat of one), or null. */
    static Double constFloatValue(LLVMValueRef v) {
        LLVMValueRef s = splatElement(v);
        if (s == null || isNull(LLVMIsAConstantFP(s))) return null;
        return LLVMConstRealGetDouble(s, new int[1]);
    }

    /** The scalar a constant splat repeats (or {@code v} itself if scalar); null if not a constant splat. */
    private static LLVMValueRef splatElement(LLVMValueRef v) {
        if (LLVMIsConstant(v) == 0) return null;
        if (lanes(v) == 1) return v;
        LLVMValueRef s = LLVMGetAggregateElement(v, 0);
        if (isNull(s)) return null;
        for (int i = 1; i < lanes(v); i++) {
            LLVMValueRef e = LLVMGetAggregateElement(v, i);
            if (isNull(e) || e.address() != s.address()) return null;
        }
        return s;
    }

    // ---- vectors

    /** A vector of {@code lanes} copies of a scalar (the scalar itself when lanes is 1). */
    LLVMValueRef splat(LLVMValueRef scalar, int lanes) {
        if (lanes == 1 || lanes(scalar) == lanes) return scalar;
        LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(scalar), lanes);
        LLVMValueRef one = LLVMBuildInsertElement(b, LLVMGetPoison(vt), scalar, i32(0), "");
        return LLVMBuildShuffleVector(b, one, LLVMGetPoison(vt), LLVMConstNull(vec(i32(), lanes)), "");
    }

    /**
     * {@code v} repeated to {@code lanes} lanes: a splat of a scalar, or for a vector of m lanes
     * the pattern v[k % m] (the loop IR's broadcast of a vector).
     */
    LLVMValueRef tile(LLVMValueRef v, int lanes) {
        int m = lanes(v);
        if (m == 1 || m == lanes) return splat(v, lanes);
        LLVMValueRef[] mask = new LLVMValueRef[lanes];
        for (int k = 0; k < lanes; k++) mask[k] = i32(k % m);
        return LLVMBuildShuffleVector(b, v, LLVMGetPoison(LLVMTypeOf(v)), LLVMConstVector(pp(mask), lanes), "");
    }

    LLVMValueRef extract(LLVMValueRef v, int lane) {
        return LLVMBuildExtractElement(b, v, i32(lane), "");
    }

    LLVMValueRef insert(LLVMValueRef v, LLVMValueRef e, int lane) {
        return LLVMBuildInsertElement(b, v, e, i32(lane), "");
    }

    // ---- arithmetic

    LLVMValueRef fadd(LLVMValueRef a, LLVMValueRef c) { return contract(LLVMBuildFAdd(b, a, c, "")); }
    LLVMValueRef fsub(LLVMValueRef a, LLVMValueRef c) { return contract(LLVMBuildFSub(b, a, c, "")); }
    LLVMValueRef fmul(LLVMValueRef a, LLVMValueRef c) { return contract(LLVMBuildFMul(b, a, c, "")); }
    LLVMValueRef fdiv(LLVMValueRef a, LLVMValueRef c) { return contract(LLVMBuildFDiv(b, a, c, "")); }
    LLVMValueRef fneg(LLVMValueRef a) { return LLVMBuildFNeg(b, a, ""); }

    /** As fadd, fsub and fmul, without the contract flag: rounded on their own, as two separate ONNX ops are. */
    LLVMValueRef faddStrict(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFAdd(b, a, c, ""); }
    LLVMValueRef fsubStrict(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFSub(b, a, c, ""); }
    LLVMValueRef fmulStrict(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFMul(b, a, c, ""); }

    /** a*c + d, fused where the target has FMA (llvm.fmuladd). */
    LLVMValueRef fma(LLVMValueRef a, LLVMValueRef c, LLVMValueRef d) {
        return intrinsic("llvm.fmuladd", new LLVMTypeRef[] {LLVMTypeOf(a)}, a, c, d);
    }

    /** a*c + d with a single rounding, always (llvm.fma): for error-free transformations. */
    LLVMValueRef fmaExact(LLVMValueRef a, LLVMValueRef c, LLVMValueRef d) {
        return intrinsic("llvm.fma", new LLVMTypeRef[] {LLVMTypeOf(a)}, a, c, d);
    }

    /** Horner evaluation of c[0] + c[1] x + ... + c[n] x^n. */
    LLVMValueRef poly(LLVMValueRef x, double... c) {
        LLVMTypeRef t = LLVMTypeOf(x);
        LLVMValueRef r = constFloat(t, c[c.length - 1]);
        for (int i = c.length - 2; i >= 0; i--) r = fma(r, x, constFloat(t, c[i]));
        return r;
    }

    LLVMValueRef fcmp(int pred, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildFCmp(b, pred, a, c, ""); }
    LLVMValueRef icmp(int pred, LLVMValueRef a, LLVMValueRef c) { return LLVMBuildICmp(b, pred, a, c, ""); }
    LLVMValueRef select(LLVMValueRef c, LLVMValueRef t, LLVMValueRef f) { return LLVMBuildSelect(b, c, t, f, ""); }
    LLVMValueRef add(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildAdd(b, a, c, ""); }
    LLVMValueRef sub(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildSub(b, a, c, ""); }
    LLVMValueRef mul(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildMul(b, a, c, ""); }
    LLVMValueRef and(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildAnd(b, a, c, ""); }
    LLVMValueRef or(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildOr(b, a, c, ""); }
    LLVMValueRef xor(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildXor(b, a, c, ""); }
    LLVMValueRef shl(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildShl(b, a, c, ""); }
    LLVMValueRef ashr(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildAShr(b, a, c, ""); }
    LLVMValueRef lshr(LLVMValueRef a, LLVMValueRef c) { return LLVMBuildLShr(b, a, c, ""); }
    LLVMValueRef bitcast(LLVMValueRef a, LLVMTypeRef t) { return LLVMBuildBitCast(b, a, t, ""); }
    LLVMValueRef cast(int op, LLVMValueRef a, LLVMTypeRef t) { return LLVMBuildCast(b, op, a, t, ""); }

    /** a + c that cannot overflow (the caller proves it), marked nsw so SCEV sees a clean recurrence. */
    LLVMValueRef addNsw(LLVMValueRef a, LLVMValueRef c) {
        return LLVMBuildNSWAdd(b, a, c, "");
    }

    private static LLVMValueRef contract(LLVMValueRef v) {
        if (!isNull(LLVMIsAInstruction(v)) && LLVMCanValueUseFastMathFlags(v) != 0) {
            LLVMSetFastMathFlags(v, LLVMFastMathAllowContract);
        }
        return v;
    }

    // ---- calls

    LLVMValueRef call(LLVMValueRef fn, LLVMValueRef... args) {
        return LLVMBuildCall2(b, LLVMGlobalGetValueType(fn), fn, pp(args), args.length, "");
    }

    /** Calls an overloaded LLVM intrinsic such as {@code llvm.sqrt} on the given overload types. */
    LLVMValueRef intrinsic(String name, LLVMTypeRef[] overloads, LLVMValueRef... args) {
        int id = LLVMLookupIntrinsicID(name, name.length());
        if (id == 0) throw new IllegalStateException("LLVM has no intrinsic " + name);
        LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m.module(), id, pp(overloads), overloads.length);
        return LLVMBuildCall2(b, LLVMIntrinsicGetType(ctx, id, pp(overloads), overloads.length), fn, pp(args),
                args.length, "");
    }

    /** Calls a unary overloaded intrinsic whose overload type is its argument's type. */
    LLVMValueRef intrinsic1(String name, LLVMValueRef x) {
        return intrinsic(name, new LLVMTypeRef[] {LLVMTypeOf(x)}, x);
    }

    LLVMValueRef fabs(LLVMValueRef x) { return intrinsic1("llvm.fabs", x); }

    LLVMValueRef copysign(LLVMValueRef mag, LLVMValueRef sign) {
        return intrinsic("llvm.copysign", new LLVMTypeRef[] {LLVMTypeOf(mag)}, mag, sign);
    }
}
