package dev.kiln.irlow.lower;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Exprs;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.te.Compute;
import dev.kiln.irlow.te.Operation;
import dev.kiln.irlow.te.Placeholder;
import dev.kiln.irlow.transform.Children;
import dev.kiln.irlow.transform.Substitute;
import dev.kiln.irlow.transform.Vars;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Lowers tensor expressions to a loop nest per output, in the naive order a schedule starts
 * from. Intermediate computes are inlined when they are elementwise in their indices (a
 * non-reduction) and materialized in a local buffer when they are reductions. A reduction is
 * two nests, an init nest and an update nest with the reduce loops innermost; keeping them apart
 * is what lets a schedule reorder reduce loops outward.
 */
public final class LowerTe {
    private final Map<Operation, Buffer> buffers = new HashMap<>();
    private final Set<Operation> outputs = new HashSet<>();
    /** Reductions read by others and not outputs: computed into a local buffer before first use. */
    private final Set<Compute> materialized = new HashSet<>();
    private final Set<Operation> emitted = new HashSet<>();
    private final Set<Operation> classified = new HashSet<>();
    private final List<Buffer> allocations = new ArrayList<>();
    private final String funcName;

    private LowerTe(String funcName) {
        this.funcName = funcName;
    }

    public static PrimFunc lower(String funcName, List<Placeholder> inputs, List<Compute> outputs) {
        return new LowerTe(funcName).run(inputs, outputs);
    }

    private PrimFunc run(List<Placeholder> inputs, List<Compute> outs) {
        List<Buffer> params = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Operation op : concat(inputs, outs)) {
            if (!names.add(op.name()))
                throw new IllegalArgumentException("kernel " + funcName + ": two tensors are named " + op.name());
            Buffer b = new Buffer(op.name(), op.dtype(), op.numel());
            buffers.put(op, b);
            params.add(b);
        }
        outputs.addAll(outs);
        for (Compute c : outs) classify(c, new HashSet<>(), inputs);

        List<Stmt> nests = new ArrayList<>();
        for (Compute c : outs) {
            emitMaterializedDeps(c.body(), nests);
            nests.add(nest(c));
            emitted.add(c);
        }
        Stmt body = seq(nests);
        for (int i = allocations.size() - 1; i >= 0; i--) body = new Stmt.Allocate(allocations.get(i), body);
        checkUniqueLoops(body);
        return new PrimFunc(funcName, params, body);
    }

    /** Walks the tensors reachable from {@code op}, checking inputs and choosing which to materialize. */
    private void classify(Operation op, Set<Operation> visiting, List<Placeholder> inputs) {
        if (classified.contains(op)) return;
        if (!visiting.add(op)) throw new IllegalArgumentException("kernel " + funcName + ": tensor " + op.name() + " depends on itself");
        switch (op) {
            case Placeholder p -> {
                if (!inputs.contains(p))
                    throw new IllegalArgumentException("kernel " + funcName + ": tensor " + p.name() + " is read but is not among the inputs");
            }
            case Compute c -> {
                if (!outputs.contains(c) && c.body() instanceof Expr.Reduce && materialized.add(c)) {
                    if (buffers.values().stream().anyMatch(b -> b.name().equals(c.name())))
                        throw new IllegalArgumentException("kernel " + funcName + ": two tensors are named " + c.name());
                    buffers.put(c, new Buffer(c.name(), c.dtype(), c.numel()));
                }
                for (Operation in : c.inputs()) classify(in, visiting, inputs);
            }
        }
        visiting.remove(op);
        classified.add(op);
    }

    /** Emits, in dependency order, the materialized reductions that {@code e} reads and that are not yet computed. */
    private void emitMaterializedDeps(Expr e, List<Stmt> nests) {
        if (e instanceof Expr.TensorRead t && t.tensor() instanceof Compute c && !emitted.contains(c)) {
            if (materialized.contains(c)) {
                emitMaterializedDeps(c.body(), nests);
                nests.add(nest(c));
                allocations.add(buffers.get(c));
                emitted.add(c);
            } else if (!outputs.contains(c)) {
                emitMaterializedDeps(c.body(), nests);
            } else {
                throw new IllegalArgumentException("kernel " + funcName + ": output " + c.name()
                        + " is read before it is computed; list the outputs in dependency order");
            }
        }
        Children.forEach(e, x -> emitMaterializedDeps(x, nests));
    }

    /** The loop nest(s) that compute {@code c} into its buffer. */
    private Stmt nest(Compute c) {
        Buffer buf = buffers.get(c);
        if (c.body() instanceof Expr.Reduce r && r.extents().stream().allMatch(e -> e == 1)) {
            // A reduction over one element (how a stage is materialized: see OpBuilder.materialize)
            // is its element: stored directly, with no init nest zeroing the buffer first.
            Expr src = Exprs.cast(c.dtype(), lowerExpr(r.source()));
            Stmt store = new Stmt.Store(buf, flatIndex(c.axes(), c.shape()), src);
            return loops(c.axes(), c.shape(), loops(r.axes(), r.extents(), store));
        }
        if (c.body() instanceof Expr.Reduce r) {
            List<Expr.Var> initAxes = c.axes().stream().map(a -> new Expr.Var(a.name() + ".init", a.type())).toList();
            Stmt init = new Stmt.Store(buf, flatIndex(initAxes, c.shape()), identity(r.op(), c.dtype()));
            init = loops(initAxes, c.shape(), init);

            Expr idx = flatIndex(c.axes(), c.shape());
            Expr src = Exprs.cast(c.dtype(), lowerExpr(r.source()));
            Stmt update = new Stmt.Store(buf, idx, combine(r.op(), new Expr.Load(buf, idx), src));
            update = loops(r.axes(), r.extents(), update);
            update = loops(c.axes(), c.shape(), update);
            return seq(List.of(init, update));
        }
        Stmt store = new Stmt.Store(buf, flatIndex(c.axes(), c.shape()), Exprs.cast(c.dtype(), lowerExpr(c.body())));
        return loops(c.axes(), c.shape(), store);
    }

    /** Replaces tensor reads with loads, inlining non-reduction intermediates. */
    private Expr lowerExpr(Expr e) {
        return switch (e) {
            case Expr.TensorRead(Operation op, List<Expr> indices) -> {
                List<Expr> idx = indices.stream().map(this::lowerExpr).map(i -> Exprs.cast(Type.INDEX.scalar(), i)).toList();
                Buffer b = buffers.get(op);
                if (b != null) yield new Expr.Load(b, flatIndex(idx, op.shape()));
                Compute c = (Compute) op;
                Map<String, Expr> axes = new LinkedHashMap<>();
                for (int d = 0; d < idx.size(); d++) axes.put(c.axes().get(d).name(), idx.get(d));
                yield Exprs.cast(c.dtype(), lowerExpr(Substitute.expr(c.body(), axes)));
            }
            case Expr.Reduce r -> throw new IllegalArgumentException("kernel " + funcName
                    + ": a reduction may only be the whole body of a compute, found one nested in an expression");
            default -> Children.map(e, this::lowerExpr);
        };
    }

    /** Row-major flat index {@code (i0*stride0 + i1*stride1) + ... + i_last}, a left-leaning sum. */
    static Expr flatIndex(List<? extends Expr> idx, List<Long> shape) {
        long[] strides = new long[shape.size()];
        long stride = 1;
        for (int d = shape.size() - 1; d >= 0; d--) {
            strides[d] = stride;
            stride *= shape.get(d);
        }
        Expr r = null;
        for (int d = 0; d < shape.size(); d++) {
            Expr term = strides[d] == 1 ? idx.get(d) : Exprs.mul(idx.get(d), Exprs.idx(strides[d]));
            r = r == null ? term : Exprs.add(r, term);
        }
        return r == null ? Exprs.idx(0) : r;
    }

    private static Stmt loops(List<Expr.Var> vars, List<Long> extents, Stmt body) {
        for (int d = vars.size() - 1; d >= 0; d--)
            body = new Stmt.For(vars.get(d), Exprs.idx(0), Exprs.idx(extents.get(d)), ForKind.SERIAL, body);
        return body;
    }

    static Expr identity(Expr.ReduceOp op, ScalarType t) {
        return switch (op) {
            case SUM -> Exprs.constant(t, 0);
            case PROD -> Exprs.constant(t, 1);
            case MAX -> t.isFloat ? Exprs.constant(t, Double.NEGATIVE_INFINITY) : Exprs.intImm(t, minValue(t));
            case MIN -> t.isFloat ? Exprs.constant(t, Double.POSITIVE_INFINITY) : Exprs.intImm(t, maxValue(t));
        };
    }

    /** One step of a reduction: {@code acc} and {@code x} combined by {@code op}. */
    public static Expr combine(Expr.ReduceOp op, Expr acc, Expr x) {
        return switch (op) {
            case SUM -> new Expr.Add(acc, x);
            case PROD -> new Expr.Mul(acc, x);
            case MAX -> new Expr.Max(acc, x);
            case MIN -> new Expr.Min(acc, x);
        };
    }

    /** The smallest value of an integer type, as stored (unsigned types as their bit pattern). */
    static long minValue(ScalarType t) {
        if (t == ScalarType.BOOL || !t.isSigned) return 0;
        return t.bits == 64 ? Long.MIN_VALUE : -(1L << (t.bits - 1));
    }

    static long maxValue(ScalarType t) {
        if (t == ScalarType.BOOL) return 1;
        if (t.bits == 64) return t.isSigned ? Long.MAX_VALUE : -1L;
        return t.isSigned ? (1L << (t.bits - 1)) - 1 : (1L << t.bits) - 1;
    }

    private void checkUniqueLoops(Stmt body) {
        Set<String> seen = new HashSet<>();
        for (Stmt.For f : Vars.loops(body))
            if (!seen.add(f.var().name()))
                throw new IllegalArgumentException("kernel " + funcName + ": two loops are named " + f.var().name()
                        + "; give each compute and reduce axis its own name");
    }

    private static Stmt seq(List<Stmt> stmts) {
        return stmts.size() == 1 ? stmts.get(0) : new Stmt.Seq(stmts);
    }

    private static List<Operation> concat(List<? extends Operation> a, List<? extends Operation> b) {
        List<Operation> r = new ArrayList<>(a);
        r.addAll(b);
        return r;
    }
}
