package dev.kiln.codegen.llvm;

import static org.bytedeco.llvm.global.LLVM.*;

import org.bytedeco.llvm.LLVM.LLVMBuilderRef;
import org.bytedeco.llvm.LLVM.LLVMTypeRef;
import org.bytedeco.llvm.LLVM.LLVMValueRef;

/**
 * Vectorizable float32 exp, log, tanh, erf, sigmoid and pow, written in LLVM IR: branch-free
 * range reduction and polynomials (exp, log and tanh after Cephes; erf with coefficients fitted
 * for Kiln), selects for the special cases. Each is an internal always-inline function
 * {@code kiln.math.<name>.f32[.v<lanes>]} for the lane count it is called with, so the
 * loop vectorizer and explicit vector code both see plain arithmetic. Maximum relative error is
 * about 2e-7 (two ulp) on normal inputs; overflow gives inf, underflow 0 (through subnormals),
 * NaN stays NaN.
 */
final class VectorMath {
    private VectorMath() {}

    static LLVMValueRef exp(Ir ir, LLVMValueRef x) { return call(ir, "exp", VectorMath::expBody, x); }
    static LLVMValueRef log(Ir ir, LLVMValueRef x) { return call(ir, "log", VectorMath::logBody, x); }
    static LLVMValueRef tanh(Ir ir, LLVMValueRef x) { return call(ir, "tanh", VectorMath::tanhBody, x); }
    static LLVMValueRef erf(Ir ir, LLVMValueRef x) { return call(ir, "erf", VectorMath::erfBody, x); }
    static LLVMValueRef sigmoid(Ir ir, LLVMValueRef x) { return call(ir, "sigmoid", VectorMath::sigmoidBody, x); }
    static LLVMValueRef pow(Ir ir, LLVMValueRef x, LLVMValueRef y) { return call(ir, "pow", VectorMath::powBody, x, y); }

    private interface Body {
        LLVMValueRef build(Ir ir, LLVMValueRef[] args);
    }

    private static LLVMValueRef call(Ir ir, String name, Body body, LLVMValueRef... args) {
        LLVMTypeRef t = LLVMTypeOf(args[0]);
        int lanes = Ir.lanes(args[0]);
        String fname = "kiln.math." + name + ".f32" + (lanes > 1 ? ".v" + lanes : "");
        LLVMValueRef fn = LLVMGetNamedFunction(ir.m.module(), fname);
        if (Ir.isNull(fn)) fn = define(ir.m, fname, t, args.length, body);
        return ir.call(fn, args);
    }

    private static LLVMValueRef define(LlvmModule m, String name, LLVMTypeRef t, int arity, Body body) {
        LLVMTypeRef[] params = new LLVMTypeRef[arity];
        java.util.Arrays.fill(params, t);
        LLVMValueRef fn = LLVMAddFunction(m.module(), name, LLVMFunctionType(t, Ir.pp(params), arity, 0));
        LLVMSetLinkage(fn, LLVMInternalLinkage);
        m.addFunctionAttributes(fn);
        m.addAttribute(fn, LLVMAttributeFunctionIndex, "alwaysinline");
        m.addAttribute(fn, LLVMAttributeFunctionIndex, "willreturn");
        m.addAttribute(fn, LLVMAttributeFunctionIndex, "memory", 0);
        LLVMBuilderRef b = LLVMCreateBuilderInContext(m.context());
        try {
            LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(m.context(), fn, "entry"));
            LLVMValueRef[] args = new LLVMValueRef[arity];
            for (int i = 0; i < arity; i++) args[i] = LLVMGetParam(fn, i);
            LLVMBuildRet(b, body.build(new Ir(m, b), args));
        } finally {
            LLVMDisposeBuilder(b);
        }
        return fn;
    }

    /** Constants and bit tricks for one float vector type. */
    private record F(Ir ir, LLVMTypeRef t, LLVMTypeRef it) {
        static F of(Ir ir, LLVMValueRef x) {
            LLVMTypeRef t = LLVMTypeOf(x);
            return new F(ir, t, Ir.vec(ir.i32(), Ir.lanes(x)));
        }

        LLVMValueRef c(double v) { return ir.constFloat(t, v); }
        LLVMValueRef ci(long v) { return ir.constInt(it, v); }
        LLVMValueRef bits(LLVMValueRef x) { return ir.bitcast(x, it); }
        LLVMValueRef fromBits(LLVMValueRef i) { return ir.bitcast(i, t); }

        /** x > hi ? hi : x, then x < lo ? lo : x; NaN passes through. */
        LLVMValueRef clamp(LLVMValueRef x, double lo, double hi) {
            x = ir.select(ir.fcmp(LLVMRealOGT, x, c(hi)), c(hi), x);
            return ir.select(ir.fcmp(LLVMRealOLT, x, c(lo)), c(lo), x);
        }
    }

    /**
     * exp(x) = 2^n * e^r with n = round(x / ln 2), |r| <= ln(2)/2 (r computed in two steps, Cody and
     * Waite), e^r by a degree-7 polynomial. 2^n is applied as two factors so that results near the
     * overflow threshold and in the subnormal range are still exact scalings.
     */
    private static LLVMValueRef expBody(Ir ir, LLVMValueRef[] a) {
        F f = F.of(ir, a[0]);
        LLVMValueRef x = f.clamp(a[0], -104, 88.8);
        LLVMValueRef n = ir.intrinsic1("llvm.roundeven", ir.fmul(x, f.c(1.44269504088896341)));
        LLVMValueRef r = ir.fma(n, f.c(-0.693359375), x);
        r = ir.fma(n, f.c(2.12194440e-4), r);
        LLVMValueRef z = ir.fmul(r, r);
        LLVMValueRef p = ir.poly(r, 5.0000001201E-1, 1.6666665459E-1, 4.1665795894E-2, 8.3334519073E-3,
                1.3981999507E-3, 1.9875691500E-4);
        p = ir.fadd(ir.fma(p, z, r), f.c(1));
        // NaN input: fptosi gives poison; freeze makes it some number, and p is NaN anyway.
        LLVMValueRef ni = LLVMBuildFreeze(ir.b, ir.cast(LLVMFPToSI, n, f.it()), "");
        LLVMValueRef n1 = ir.ashr(ni, f.ci(1));
        LLVMValueRef n2 = ir.sub(ni, n1);
        LLVMValueRef s1 = f.fromBits(ir.shl(ir.add(n1, f.ci(127)), f.ci(23)));
        LLVMValueRef s2 = f.fromBits(ir.shl(ir.add(n2, f.ci(127)), f.ci(23)));
        return ir.fmul(ir.fmul(p, s1), s2);
    }

    /**
     * log(x) = e ln 2 + log(m) with x = m 2^e, m in [sqrt(1/2), sqrt(2)); log(1+u) by a degree-9
     * polynomial (Cephes logf). Subnormals are scaled up first.
     */
    private static LLVMValueRef logBody(Ir ir, LLVMValueRef[] a) {
        F f = F.of(ir, a[0]);
        LLVMValueRef x0 = a[0];
        LLVMValueRef sub = ir.fcmp(LLVMRealOLT, x0, f.c(1.17549435e-38));
        LLVMValueRef x = ir.select(sub, ir.fmul(x0, f.c(8388608.0)), x0);
        LLVMValueRef bits = f.bits(x);
        LLVMValueRef e = ir.sub(ir.lshr(bits, f.ci(23)), f.ci(126));
        e = ir.sub(e, ir.select(sub, f.ci(23), f.ci(0)));
        LLVMValueRef m = f.fromBits(ir.or(ir.and(bits, f.ci(0x007fffff)), f.ci(0x3f000000)));
        LLVMValueRef small = ir.fcmp(LLVMRealOLT, m, f.c(0.707106781186547524));
        LLVMValueRef fe = ir.fsub(ir.cast(LLVMSIToFP, e, f.t()), ir.select(small, f.c(1), f.c(0)));
        LLVMValueRef u = ir.fsub(ir.select(small, ir.fadd(m, m), m), f.c(1));
        LLVMValueRef z = ir.fmul(u, u);
        LLVMValueRef y = ir.poly(u, 3.3333331174E-1, -2.4999993993E-1, 2.0000714765E-1, -1.6668057665E-1,
                1.4249322787E-1, -1.2420140846E-1, 1.1676998740E-1, -1.1514610310E-1, 7.0376836292E-2);
        y = ir.fmul(ir.fmul(y, u), z);
        y = ir.fma(fe, f.c(-2.12194440e-4), y);
        y = ir.fma(z, f.c(-0.5), y);
        LLVMValueRef r = ir.fadd(u, y);
        r = ir.fma(fe, f.c(0.693359375), r);
        LLVMValueRef inf = f.c(Double.POSITIVE_INFINITY);
        r = ir.select(ir.fcmp(LLVMRealOEQ, x0, inf), inf, r);
        r = ir.select(ir.fcmp(LLVMRealOEQ, x0, f.c(0)), f.c(Double.NEGATIVE_INFINITY), r);
        return ir.select(ir.fcmp(LLVMRealULT, x0, f.c(0)), f.c(Double.NaN), r); // x < 0 or NaN
    }

    /** tanh: an odd polynomial below 0.625 (Cephes tanhf), 1 - 2/(e^{2|x|} + 1) above. */
    private static LLVMValueRef tanhBody(Ir ir, LLVMValueRef[] a) {
        F f = F.of(ir, a[0]);
        LLVMValueRef x = a[0];
        LLVMValueRef ax = ir.fabs(x);
        LLVMValueRef s = ir.fmul(x, x);
        LLVMValueRef p = ir.poly(s, -3.33332819422E-1, 1.33314422036E-1, -5.37397155531E-2, 2.06390887954E-2,
                -5.70498872745E-3);
        LLVMValueRef small = ir.fma(ir.fmul(p, s), x, x);
        LLVMValueRef e = exp(ir, ir.fadd(ax, ax));
        LLVMValueRef large = ir.copysign(ir.fsub(f.c(1), ir.fdiv(f.c(2), ir.fadd(e, f.c(1)))), x);
        return ir.select(ir.fcmp(LLVMRealOLT, ax, f.c(0.625)), small, large);
    }

    /**
     * erf: x P(x^2) below 1; above, 1 - e^{-x^2} R(1/x) with erfc(x) e^{x^2} fitted on [1, 4] (erf is
     * 1 in float32 beyond ~3.9). Relative error of both fits is below 2e-8 before rounding.
     */
    private static LLVMValueRef erfBody(Ir ir, LLVMValueRef[] a) {
        F f = F.of(ir, a[0]);
        LLVMValueRef x = a[0];
        LLVMValueRef ax = ir.fabs(x);
        LLVMValueRef small = ir.fmul(ax, ir.poly(ir.fmul(ax, ax), 1.1283791657386093, -0.376126258573373,
                0.11283585410043441, -0.026853820780859607, 0.005188342247230369, -0.0008010308802608915,
                7.854212071318505e-05));
        LLVMValueRef xc = f.clamp(ax, 1, 4);
        LLVMValueRef t = ir.fdiv(f.c(1), xc);
        LLVMValueRef q = ir.poly(t, 0.00012106858167453193, 0.561768138403301, 0.02053448525791286,
                -0.37585710846712816, 0.23037866344386376, 0.2383633475809604, -0.5369828358484205,
                0.4382651042690411, -0.1797231068314208, 0.030715825997098874);
        LLVMValueRef erfc = ir.fmul(exp(ir, ir.fneg(ir.fmul(xc, xc))), q);
        LLVMValueRef large = ir.fsub(f.c(1), erfc);
        return ir.copysign(ir.select(ir.fcmp(LLVMRealOLT, ax, f.c(1)), small, large), x);
    }

    /**
     * 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below, from one e^{-|x|}: nothing overflows, and
     * very negative x still gets the (subnormal) tail right.
     */
    private static LLVMValueRef sigmoidBody(Ir ir, LLVMValueRef[] a) {
        F f = F.of(ir, a[0]);
        LLVMValueRef x = a[0];
        LLVMValueRef e = exp(ir, ir.fneg(ir.fabs(x)));
        LLVMValueRef r = ir.fdiv(f.c(1), ir.fadd(f.c(1), e));
        return ir.select(ir.fcmp(LLVMRealOGE, x, f.c(0)), r, ir.fmul(e, r));
    }

    /**
     * x^y = e^{y log|x|}, with the rounding error of the product y log|x| fed back (exact FMA), the
     * sign of negative x for odd integer y, NaN for negative x and non-integer y, and x^0 = 1^y = 1 (C's
     * rules). The error grows with |y log x| (the log's own error is scaled by it): about 1e-7 times
     * (2 + |y log x|) relative.
     */
    private static LLVMValueRef powBody(Ir ir, LLVMValueRef[] a) {
        F f = F.of(ir, a[0]);
        LLVMValueRef x = a[0], y = a[1];
        LLVMValueRef inf = f.c(Double.POSITIVE_INFINITY);
        LLVMValueRef l = log(ir, ir.fabs(x));
        LLVMValueRef w = ir.fmul(y, l);
        LLVMValueRef wlo = ir.fmaExact(y, l, ir.fneg(w));
        wlo = ir.select(ir.fcmp(LLVMRealUNO, wlo, wlo), f.c(0), wlo);
        LLVMValueRef r = exp(ir, w);
        r = ir.select(ir.fcmp(LLVMRealOLT, ir.fabs(r), inf), ir.fma(r, wlo, r), r);
        LLVMValueRef yInt = ir.fcmp(LLVMRealOEQ, y, ir.intrinsic1("llvm.roundeven", y));
        LLVMValueRef half = ir.fmul(y, f.c(0.5));
        LLVMValueRef yOdd = ir.and(yInt, ir.fcmp(LLVMRealUNE, ir.intrinsic1("llvm.floor", half), half));
        LLVMValueRef xNeg = ir.icmp(LLVMIntSLT, f.bits(x), f.ci(0));
        r = ir.select(ir.and(xNeg, yOdd), ir.fneg(r), r);
        LLVMValueRef negFinite = ir.and(ir.fcmp(LLVMRealOLT, x, f.c(0)), ir.fcmp(LLVMRealONE, x, ir.fneg(inf)));
        r = ir.select(ir.and(negFinite, LLVMBuildNot(ir.b, yInt, "")), f.c(Double.NaN), r);
        LLVMValueRef trivial = ir.or(ir.fcmp(LLVMRealOEQ, y, f.c(0)), ir.fcmp(LLVMRealOEQ, x, f.c(1)));
        return ir.select(trivial, f.c(1), r);
    }
}
