package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.llvm.LLVM.LLVMTypeRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * Loop-IR expressions to LLVM values. Integer Div/Mod are floor division and modulo (signed) or
 * plain unsigned division; float Min/Max are a compare and select, which x86 turns into a single
 * vminps/vmaxps (equal to Java's Math.min/max except for the sign of a zero result and for NaN in
 * the second operand). Bools are i1 in registers and one byte in memory.
 */
final class ExprCodegen {
    private final FunctionScope f;
    private final Ir ir;

    ExprCodegen(FunctionScope f) {
        this.f = f;
        this.ir = f.ir;
    }

    /**
     * Whether float adds and multiplies may be fused into FMAs: only while emitting an accumulation
     * ({@link #emitStored}), where the sum's order is the kernel's own choice anyway. Elsewhere a multiply
     * and an add are two ONNX ops (a dequantizing scale, then a bias) that ONNX Runtime rounds one by one,
     * and a value rounded once instead of twice lands on the other side of a later quantization step.
     */
    private boolean contract;

    /** The value a Store writes: an update of the stored element ({@code buf[i] = buf[i] + ...}) may fuse multiply-adds. */
    LLVMValueRef emitStored(dev.kiln.irlow.stmt.Stmt.Store st) {
        boolean update = switch (st.value()) {
            case Expr.Add(Expr a, Expr b) -> isElement(a, st) || isElement(b, st);
            case Expr.Sub(Expr a, Expr b) -> isElement(a, st);
            default -> false;
        };
        contract = update;
        try {
            return emit(st.value());
        } finally {
            contract = false;
        }
    }

    private static boolean isElement(Expr e, dev.kiln.irlow.stmt.Stmt.Store st) {
        return e instanceof Expr.Load l && l.buffer().equals(st.buffer()) && l.index().equals(st.index());
    }

    LLVMValueRef emit(Expr e) {
        return switch (e) {
            case Expr.IntImm i -> i.type().isFloat() ? ir.constFloat(ir.type(i.type()), i.value())
                    : ir.constInt(ir.type(i.type()), i.type().isBool() ? (i.value() != 0 ? 1 : 0) : i.value());
            case Expr.FloatImm x -> x.type().isFloat() ? ir.constFloat(ir.type(x.type()), x.value())
                    : ir.constInt(ir.type(x.type()), x.type().isBool() ? (x.value() != 0 ? 1 : 0) : (long) x.value());
            case Expr.Var v -> f.var(v);
            case Expr.Add(Expr a, Expr b) -> binary(e, a, b, (x, y) -> !isFloat(a) ? ir.add(x, y) : contract ? ir.fadd(x, y) : ir.faddStrict(x, y));
            case Expr.Sub(Expr a, Expr b) -> binary(e, a, b, (x, y) -> !isFloat(a) ? ir.sub(x, y) : contract ? ir.fsub(x, y) : ir.fsubStrict(x, y));
            case Expr.Mul(Expr a, Expr b) -> binary(e, a, b, (x, y) -> !isFloat(a) ? ir.mul(x, y) : contract ? ir.fmul(x, y) : ir.fmulStrict(x, y));
            case Expr.Div(Expr a, Expr b) -> binary(e, a, b, (x, y) -> div(e, a.type().scalar(), x, y));
            case Expr.Mod(Expr a, Expr b) -> binary(e, a, b, (x, y) -> mod(e, a.type().scalar(), x, y));
            case Expr.Min(Expr a, Expr b) -> binary(e, a, b, (x, y) -> minMax(a.type().scalar(), x, y, true));
            case Expr.Max(Expr a, Expr b) -> binary(e, a, b, (x, y) -> minMax(a.type().scalar(), x, y, false));
            case Expr.Cmp c -> binary(e, c.a(), c.b(), (x, y) -> compare(c.op(), c.a().type().scalar(), x, y));
            case Expr.And(Expr a, Expr b) -> binary(e, a, b, ir::and);
            case Expr.Or(Expr a, Expr b) -> binary(e, a, b, ir::or);
            case Expr.Not(Expr a) -> LLVMBuildNot(ir.b, emit(a), "");
            case Expr.Select s -> select(s);
            case Expr.Cast c -> cast(c.value().type(), c.type(), emit(c.value()));
            case Expr.Load l -> load(l.buffer(), l.index());
            case Expr.Ramp r -> ramp(emit(r.base()), emit(r.stride()), r.lanes());
            case Expr.Broadcast bc -> ir.tile(emit(bc.value()), bc.lanes());
            case Expr.Call c -> {
                List<LLVMValueRef> args = new ArrayList<>();
                for (Expr a : c.args()) args.add(emit(a));
                yield IntrinsicCodegen.call(ir, f.kernel, c, args);
            }
            case Expr.TensorRead t -> throw new CodegenException("kernel '" + f.kernel + "': tensor read of '"
                    + t.tensor().name() + "' was not lowered (codegen takes loop IR after lowering)");
            case Expr.Reduce r -> throw new CodegenException("kernel '" + f.kernel + "': a reduction was not lowered "
                    + "(codegen takes loop IR after lowering)");
        };
    }

    private static boolean isFloat(Expr e) {
        return e.type().isFloat();
    }

    private interface Op {
        LLVMValueRef apply(LLVMValueRef a, LLVMValueRef b);
    }

    /** Emits both operands (which must have one scalar type; a scalar meets a vector by broadcast). */
    private LLVMValueRef binary(Expr e, Expr a, Expr b, Op op) {
        Type ta = a.type(), tb = b.type();
        if (ta.scalar() != tb.scalar() || (ta.lanes() != tb.lanes() && ta.lanes() != 1 && tb.lanes() != 1)) {
            throw new CodegenException("kernel '" + f.kernel + "': operands of " + e.getClass().getSimpleName()
                    + " have types " + ta + " and " + tb + " (they must match; insert a Cast): " + e);
        }
        int lanes = Math.max(ta.lanes(), tb.lanes());
        return op.apply(ir.splat(emit(a), lanes), ir.splat(emit(b), lanes));
    }

    // ---- arithmetic

    /** Floor division for signed ints (TVM floordiv), IEEE division for floats. */
    private LLVMValueRef div(Expr e, ScalarType t, LLVMValueRef x, LLVMValueRef y) {
        if (t.isFloat) return ir.fdiv(x, y);
        requireInt(e, t);
        if (!t.isSigned) return LLVMBuildUDiv(ir.b, x, y, "");
        LLVMTypeRef ty = LLVMTypeOf(x);
        Long c = Ir.constIntValue(y);
        if (c != null && c > 0) {
            // Positive constant divisor: a shift for powers of two, else round down when the remainder is negative.
            if (Long.bitCount(c) == 1) return ir.ashr(x, ir.constInt(ty, Long.numberOfTrailingZeros(c)));
            LLVMValueRef q = LLVMBuildSDiv(ir.b, x, y, "");
            LLVMValueRef r = LLVMBuildSRem(ir.b, x, y, "");
            LLVMValueRef neg = ir.icmp(LLVMIntSLT, r, LLVMConstNull(ty));
            return ir.sub(q, ir.cast(LLVMZExt, neg, ty));
        }
        LLVMValueRef q = LLVMBuildSDiv(ir.b, x, y, "");
        LLVMValueRef r = LLVMBuildSRem(ir.b, x, y, "");
        return ir.sub(q, ir.cast(LLVMZExt, remainderNeedsFix(r, y), ty));
    }

    /** Floor modulo for signed ints (the result has the divisor's sign), fmod for floats. */
    private LLVMValueRef mod(Expr e, ScalarType t, LLVMValueRef x, LLVMValueRef y) {
        if (t.isFloat) return LLVMBuildFRem(ir.b, x, y, "");
        requireInt(e, t);
        if (!t.isSigned) return LLVMBuildURem(ir.b, x, y, "");
        LLVMTypeRef ty = LLVMTypeOf(x);
        Long c = Ir.constIntValue(y);
        if (c != null && c > 0) {
            if (Long.bitCount(c) == 1) return ir.and(x, ir.constInt(ty, c - 1));
            LLVMValueRef r = LLVMBuildSRem(ir.b, x, y, "");
            return ir.select(ir.icmp(LLVMIntSLT, r, LLVMConstNull(ty)), ir.add(r, y), r);
        }
        LLVMValueRef r = LLVMBuildSRem(ir.b, x, y, "");
        return ir.select(remainderNeedsFix(r, y), ir.add(r, y), r);
    }

    /** True where the truncating remainder r of a division by y is non-zero and of the other sign than y. */
    private LLVMValueRef remainderNeedsFix(LLVMValueRef r, LLVMValueRef y) {
        LLVMValueRef zero = LLVMConstNull(LLVMTypeOf(r));
        return ir.and(ir.icmp(LLVMIntNE, r, zero), ir.icmp(LLVMIntSLT, ir.xor(r, y), zero));
    }

    private void requireInt(Expr e, ScalarType t) {
        if (!t.isInt()) throw new CodegenException("kernel '" + f.kernel + "': " + e.getClass().getSimpleName()
                + " on " + t + " is not defined: " + e);
    }

    private LLVMValueRef minMax(ScalarType t, LLVMValueRef x, LLVMValueRef y, boolean min) {
        if (t.isFloat) {
            // min(x, y) = y < x ? y : x, one vminps on x86; NaN in x propagates.
            LLVMValueRef yWins = ir.fcmp(min ? LLVMRealOLT : LLVMRealOGT, y, x);
            return ir.select(yWins, y, x);
        }
        if (t == ScalarType.BOOL) return min ? ir.and(x, y) : ir.or(x, y);
        String name = "llvm." + (t.isSigned ? "s" : "u") + (min ? "min" : "max");
        return ir.intrinsic(name, new LLVMTypeRef[] {LLVMTypeOf(x)}, x, y);
    }

    private LLVMValueRef compare(CmpOp op, ScalarType t, LLVMValueRef x, LLVMValueRef y) {
        if (t.isFloat) {
            int pred = switch (op) {
                case EQ -> LLVMRealOEQ;
                case NE -> LLVMRealUNE; // like Java and C: NaN != anything
                case LT -> LLVMRealOLT;
                case LE -> LLVMRealOLE;
                case GT -> LLVMRealOGT;
                case GE -> LLVMRealOGE;
            };
            return ir.fcmp(pred, x, y);
        }
        boolean signed = t.isSigned;
        int pred = switch (op) {
            case EQ -> LLVMIntEQ;
            case NE -> LLVMIntNE;
            case LT -> signed ? LLVMIntSLT : LLVMIntULT;
            case LE -> signed ? LLVMIntSLE : LLVMIntULE;
            case GT -> signed ? LLVMIntSGT : LLVMIntUGT;
            case GE -> signed ? LLVMIntSGE : LLVMIntUGE;
        };
        return ir.icmp(pred, x, y);
    }

    private LLVMValueRef select(Expr.Select s) {
        Type tt = s.t().type(), tf = s.f().type();
        if (tt.scalar() != tf.scalar() || !s.cond().type().isBool()) {
            throw new CodegenException("kernel '" + f.kernel + "': select needs a bool condition and branches of one "
                    + "type, got " + s.cond().type() + ", " + tt + ", " + tf + ": " + s);
        }
        int lanes = Math.max(Math.max(tt.lanes(), tf.lanes()), s.cond().type().lanes());
        LLVMValueRef c = emit(s.cond());
        if (Ir.lanes(c) != 1) c = ir.splat(c, lanes);
        return ir.select(c, ir.splat(emit(s.t()), lanes), ir.splat(emit(s.f()), lanes));
    }

    /** Numeric conversion between any two types; float to int truncates, anything to bool is != 0. */
    LLVMValueRef cast(Type from, Type to, LLVMValueRef v) {
        int lanes = Math.max(to.lanes(), Ir.lanes(v));
        LLVMTypeRef target = Ir.vec(ir.scalar(to.scalar()), lanes);
        v = ir.splat(v, lanes);
        ScalarType s = from.scalar(), d = to.scalar();
        if (s == d) return v;
        if (s == ScalarType.BF16) return cast(Type.of(ScalarType.F32).withLanes(lanes), to, bfloat16ToFloat(v, lanes));
        if (d == ScalarType.BF16) return floatToBfloat16(cast(from, Type.of(ScalarType.F32).withLanes(lanes), v), lanes);
        if (d == ScalarType.BOOL) {
            LLVMValueRef zero = LLVMConstNull(LLVMTypeOf(v));
            return s.isFloat ? ir.fcmp(LLVMRealUNE, v, zero) : ir.icmp(LLVMIntNE, v, zero);
        }
        if (s == ScalarType.BOOL) return ir.cast(d.isFloat ? LLVMUIToFP : LLVMZExt, v, target);
        if (s.isFloat && d.isFloat) {
            if (s.bits == d.bits) return v;
            if (s == ScalarType.F64 && d == ScalarType.F16) return doubleToHalf(v, target);
            return ir.cast(d.bits > s.bits ? LLVMFPExt : LLVMFPTrunc, v, target);
        }
        if (s.isFloat) return ir.cast(d.isSigned ? LLVMFPToSI : LLVMFPToUI, v, target);
        if (d.isFloat) return ir.cast(s.isSigned ? LLVMSIToFP : LLVMUIToFP, v, target);
        if (s.bits == d.bits) return v;
        if (d.bits < s.bits) return ir.cast(LLVMTrunc, v, target);
        return ir.cast(s.isSigned ? LLVMSExt : LLVMZExt, v, target);
    }

    /** bfloat16 bits (i16) to f32: the bits are the top half of the float's. */
    private LLVMValueRef bfloat16ToFloat(LLVMValueRef bits, int lanes) {
        LLVMTypeRef i32 = Ir.vec(ir.i32(), lanes);
        LLVMValueRef wide = ir.shl(ir.cast(LLVMZExt, bits, i32), ir.constInt(i32, 16));
        return ir.bitcast(wide, Ir.vec(ir.f32(), lanes));
    }

    /** f32 to bfloat16 bits (i16), rounded to nearest even; a NaN stays a quiet NaN. No libcall, no BF16 instructions needed. */
    private LLVMValueRef floatToBfloat16(LLVMValueRef f, int lanes) {
        LLVMTypeRef i32 = Ir.vec(ir.i32(), lanes);
        LLVMValueRef bits = ir.bitcast(f, i32), sixteen = ir.constInt(i32, 16);
        LLVMValueRef lsb = ir.and(ir.lshr(bits, sixteen), ir.constInt(i32, 1));
        LLVMValueRef rounded = ir.lshr(ir.add(bits, ir.add(lsb, ir.constInt(i32, 0x7FFF))), sixteen);
        LLVMValueRef quiet = ir.or(ir.lshr(bits, sixteen), ir.constInt(i32, 0x40));
        LLVMValueRef r = ir.select(ir.fcmp(LLVMRealUNO, f, f), quiet, rounded);
        return ir.cast(LLVMTrunc, r, Ir.vec(LLVMInt16TypeInContext(ir.ctx), lanes));
    }

    /**
     * f64 to f16 without the {@code __truncdfhf2} libcall x86 would need: round to f32 "to odd"
     * (truncate, then set the last bit if inexact), then to f16. The odd bit keeps the second
     * rounding from seeing a false tie, so the result is correctly rounded.
     */
    private LLVMValueRef doubleToHalf(LLVMValueRef d, LLVMTypeRef target) {
        int lanes = Ir.lanes(d);
        LLVMTypeRef f32 = Ir.vec(ir.f32(), lanes), i32 = Ir.vec(ir.i32(), lanes);
        LLVMValueRef f = ir.cast(LLVMFPTrunc, d, f32);
        LLVMValueRef back = ir.cast(LLVMFPExt, f, LLVMTypeOf(d));
        LLVMValueRef inexact = ir.fcmp(LLVMRealUNE, back, d);
        LLVMValueRef roundedUp = ir.fcmp(LLVMRealOGT, ir.fabs(back), ir.fabs(d));
        LLVMValueRef bits = ir.bitcast(f, i32);
        bits = ir.sub(bits, ir.cast(LLVMZExt, roundedUp, i32));
        bits = ir.or(bits, ir.cast(LLVMZExt, inexact, i32));
        return ir.cast(LLVMFPTrunc, ir.bitcast(bits, f32), target);
    }

    // ---- vectors and memory

    /**
     * {base, base+stride, ...}: a splat plus a constant step vector when the stride is constant.
     * A vector base of m lanes (nested vectorization) gives lane k = base[k % m] + (k / m) stride[k % m].
     */
    private LLVMValueRef ramp(LLVMValueRef base, LLVMValueRef stride, int lanes) {
        int m = Ir.lanes(base);
        LLVMTypeRef et = Ir.elementType(LLVMTypeOf(base));
        boolean isFloat = LLVMGetTypeKind(et) != LLVMIntegerTypeKind;
        LLVMValueRef[] steps = new LLVMValueRef[lanes];
        Long c = isFloat ? null : Ir.constIntValue(stride);
        LLVMValueRef offsets;
        if (c != null) {
            for (int k = 0; k < lanes; k++) steps[k] = Ir.scalarInt(et, c * (k / m));
            offsets = LLVMConstVector(Ir.pp(steps), lanes);
        } else {
            for (int k = 0; k < lanes; k++) steps[k] = isFloat ? LLVMConstReal(et, k / m) : Ir.scalarInt(et, k / m);
            LLVMValueRef iota = LLVMConstVector(Ir.pp(steps), lanes);
            LLVMValueRef s = ir.tile(stride, lanes);
            offsets = isFloat ? ir.fmul(s, iota) : ir.mul(s, iota);
        }
        LLVMValueRef b = ir.tile(base, lanes);
        return isFloat ? ir.fadd(b, offsets) : ir.add(b, offsets);
    }

    /** The address of element {@code index} (scalar or vector of indices) of a buffer. */
    private LLVMValueRef address(Buffer buf, LLVMValueRef index) {
        return LLVMBuildInBoundsGEP2(ir.b, ir.memory(buf.dtype()), f.buffer(buf), Ir.pp(index), 1, "");
    }

    /** The first index of a contiguous (scalar base, stride 1) ramp, or null for any other index. */
    private LLVMValueRef denseBase(Expr index) {
        if (!(index instanceof Expr.Ramp r) || r.base().type().lanes() != 1) return null;
        Long stride = Ir.constIntValue(emit(r.stride()));
        if (stride == null || stride != 1) return null;
        return emit(r.base());
    }

    LLVMValueRef load(Buffer buf, Expr index) {
        int lanes = index.type().lanes();
        LLVMTypeRef mem = ir.memory(buf.dtype());
        int align = buf.dtype().bytes();
        LLVMValueRef v;
        if (lanes == 1) {
            v = LLVMBuildLoad2(ir.b, mem, address(buf, emit(index)), "");
            LLVMSetAlignment(v, align);
        } else if (index instanceof Expr.Broadcast bc && bc.value().type().lanes() == 1) {
            LLVMValueRef s = LLVMBuildLoad2(ir.b, mem, address(buf, emit(bc.value())), "");
            LLVMSetAlignment(s, align);
            return ir.splat(fromMemory(buf.dtype(), s), lanes);
        } else {
            LLVMValueRef base = denseBase(index);
            if (base != null) {
                v = LLVMBuildLoad2(ir.b, Ir.vec(mem, lanes), address(buf, base), "");
                LLVMSetAlignment(v, align);
            } else {
                LLVMValueRef ptrs = address(buf, emit(index));
                LLVMTypeRef vt = Ir.vec(mem, lanes);
                v = ir.intrinsic("llvm.masked.gather", new LLVMTypeRef[] {vt, LLVMTypeOf(ptrs)}, ptrs, ir.i32(align),
                        allTrue(lanes), LLVMGetPoison(vt));
            }
        }
        return fromMemory(buf.dtype(), v);
    }

    void store(Buffer buf, Expr index, LLVMValueRef value) {
        int lanes = index.type().lanes();
        int align = buf.dtype().bytes();
        value = toMemory(buf.dtype(), ir.splat(value, lanes));
        if (lanes == 1) {
            LLVMSetAlignment(LLVMBuildStore(ir.b, value, address(buf, emit(index))), align);
            return;
        }
        LLVMValueRef base = denseBase(index);
        if (base != null) {
            LLVMSetAlignment(LLVMBuildStore(ir.b, value, address(buf, base)), align);
            return;
        }
        LLVMValueRef ptrs = address(buf, emit(index));
        ir.intrinsic("llvm.masked.scatter", new LLVMTypeRef[] {LLVMTypeOf(value), LLVMTypeOf(ptrs)}, value, ptrs,
                ir.i32(align), allTrue(lanes));
    }

    private LLVMValueRef allTrue(int lanes) {
        return LLVMConstAllOnes(Ir.vec(ir.i1(), lanes));
    }

    private LLVMValueRef fromMemory(ScalarType t, LLVMValueRef v) {
        if (t != ScalarType.BOOL) return v;
        return ir.icmp(LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)));
    }

    private LLVMValueRef toMemory(ScalarType t, LLVMValueRef v) {
        if (t != ScalarType.BOOL) return v;
        return ir.cast(LLVMZExt, v, Ir.vec(ir.i8(), Ir.lanes(v)));
    }
}
