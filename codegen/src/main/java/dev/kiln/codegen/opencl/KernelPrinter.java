package dev.kiln.codegen.opencl;

import static dev.kiln.codegen.opencl.OpenClTypes.memory;
import static dev.kiln.codegen.opencl.OpenClTypes.memoryVector;
import static dev.kiln.codegen.opencl.OpenClTypes.of;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.analysis.LaunchExtents;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Bounds;
import dev.kiln.irlow.transform.Bounds.Interval;
import dev.kiln.irlow.transform.Children;
import dev.kiln.irlow.transform.Simplify;
import dev.kiln.irlow.transform.Vars;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Prints one PrimFunc as an OpenCL C {@code __kernel}. GPU-bound loops become work-group and
 * work-item ids, SHARED
 * allocations {@code __local} arrays hoisted to kernel scope (OpenCL allows them nowhere else),
 * REGISTER and small GLOBAL allocations private arrays, and every other loop a C {@code for}.
 */
final class KernelPrinter {
    /** Private arrays up to this size; a GLOBAL allocation above it should have become a workspace buffer. */
    static final long MAX_PRIVATE_BYTES = 16 * 1024;

    private final PrimFunc f;
    private final String cName;
    private final ExprPrinter exprs;
    private final LaunchExtents launch;
    private final Names names = new Names();
    private final Map<String, String> varNames = new HashMap<>();
    private final Map<Buffer, String> paramNames = new LinkedHashMap<>();
    private final Map<Buffer, String> allocNames = new LinkedHashMap<>();
    private Map<Buffer, Integer> vectorArrays = Map.of();
    private final Deque<Map<String, String>> buffers = new ArrayDeque<>();
    private final Map<String, Integer> bound = new HashMap<>();
    private final Map<String, Interval> ranges = new HashMap<>();
    private final Deque<Set<String>> blocks = new ArrayDeque<>();
    private final List<String> temps = new ArrayList<>();
    private final StringBuilder out = new StringBuilder();
    private int indent;
    boolean usesF64;

    KernelPrinter(PrimFunc f, String cName, Helpers helpers) {
        this.f = f;
        this.cName = cName;
        this.exprs = new ExprPrinter(this, helpers);
        try {
            this.launch = LaunchExtents.of(f);
        } catch (IllegalArgumentException e) {
            throw new OpenClException(e.getMessage());
        }
    }

    String irName() {
        return f.name();
    }

    // ---- what ExprPrinter asks

    String varName(Expr.Var v) {
        if (bound.getOrDefault(v.name(), 0) == 0)
            throw new OpenClException("kernel " + f.name() + ": variable " + v.name() + " is used outside any loop or let that binds it");
        return varNames.get(v.name());
    }

    String bufferName(Buffer b) {
        String n = buffers.peek().get(b.name());
        if (n == null) throw new OpenClException("kernel " + f.name() + ": buffer " + b.name() + " is neither a parameter nor allocated here");
        if (b.dtype() == ScalarType.F64) usesF64 = true;
        return n;
    }

    /** The lanes of a private array declared as a vector array ({@link VectorArrays}), or 0. */
    int vectorLanes(Buffer b) {
        return vectorArrays.getOrDefault(b, 0);
    }

    /** The element of vector array {@code b} that a dense vector index with first lane {@code base} addresses. */
    String vectorElement(Buffer b, Expr base) {
        return bufferName(b) + "[" + exprs.print(Simplify.expr(VectorArrays.quotient(base, vectorLanes(b)))) + "]";
    }

    Map<String, Interval> ranges() {
        return ranges;
    }

    void noteType(Type t) {
        if (t.scalar() == ScalarType.F64) usesF64 = true;
    }

    /** Declares {@code const type name = value;} before the statement being printed, and returns the name. */
    String temp(String hint, String type, String value) {
        String name = names.fresh(hint);
        temps.add("const " + type + " " + name + " = " + value + ";");
        return name;
    }

    // ---- the kernel

    String print() {
        String where = "kernel " + f.name();
        buffers.push(new HashMap<>());
        for (Buffer p : f.params()) {
            OpenClTypes.check(p.dtype(), where + ", parameter " + p.name());
            if (p.dtype() == ScalarType.F64) usesF64 = true;
            String n = names.fresh(p.name());
            paramNames.put(p, n);
            buffers.peek().put(p.name(), n);
        }
        assignNames(f.body());
        vectorArrays = VectorArrays.find(f.body());
        Set<String> stored = new HashSet<>();
        Vars.anyStmt(f.body(), s -> {
            if (s instanceof Stmt.Store st) stored.add(st.buffer().name());
            return false;
        });

        boolean gpu = Vars.loops(f.body()).stream().anyMatch(l -> l.kind().isGpu());
        LaunchExtents.Dim3 g = launch.grid(), b = launch.block();
        out.append(gpu ? "// " + f.name() + ": " + g.x() + " x " + g.y() + " x " + g.z() + " work-groups of " + b.x() + " x " + b.y()
                + " x " + b.z() + " work-items\n" : "// " + f.name() + ": one work-item (no loop is bound to a GPU axis)\n");
        out.append("__kernel ");
        if (gpu) out.append("__attribute__((reqd_work_group_size(").append(b.x()).append(", ").append(b.y()).append(", ").append(b.z()).append("))) ");
        List<String> params = new ArrayList<>();
        for (var e : paramNames.entrySet()) {
            Buffer p = e.getKey();
            params.add("__global " + (stored.contains(p.name()) ? "" : "const ") + memory(p.dtype()) + "* restrict " + e.getValue());
        }
        out.append("void ").append(cName).append("(").append(String.join(", ", params)).append(") {\n");
        indent = 1;
        blocks.push(new HashSet<>(paramNames.values()));
        for (var e : sharedAllocations().entrySet()) {
            Buffer s = e.getKey();
            line("__local " + memory(s.dtype()) + " " + e.getValue() + "[" + s.size() + "];");
        }
        stmt(f.body());
        out.append("}\n");
        return out.toString();
    }

    /** C names for every loop and let variable and every allocation, in the order they appear, so temporaries never take them. */
    private void assignNames(Stmt s) {
        switch (s) {
            case Stmt.For l -> varNames.computeIfAbsent(l.var().name(), names::fresh);
            case Stmt.LetStmt l -> varNames.computeIfAbsent(l.var().name(), names::fresh);
            case Stmt.Allocate a -> {
                OpenClTypes.check(a.buffer().dtype(), "kernel " + f.name() + ", allocation " + a.buffer().name());
                if (a.buffer().dtype() == ScalarType.F16)
                    throw new OpenClException("kernel " + f.name() + ", allocation " + a.buffer().name() + ": a local f16 array needs the "
                            + "cl_khr_fp16 extension; stage it in f32");
                if (a.buffer().dtype() == ScalarType.F64) usesF64 = true;
                allocNames.computeIfAbsent(a.buffer(), b -> names.fresh(b.name()));
            }
            default -> {
            }
        }
        Children.forEach(s, this::assignNames, e -> {});
    }

    private Map<Buffer, String> sharedAllocations() {
        Map<Buffer, String> out = new LinkedHashMap<>();
        for (var e : allocNames.entrySet()) if (e.getKey().scope() == MemoryScope.SHARED) out.put(e.getKey(), e.getValue());
        return out;
    }

    // ---- statements

    private void line(String text) {
        for (String t : temps) out.append("    ".repeat(indent)).append(t).append('\n');
        temps.clear();
        out.append("    ".repeat(indent)).append(text).append('\n');
    }

    /** Declares a name in the current C block; false if it already is, so the caller must open a new block. */
    private boolean declare(String name) {
        return blocks.peek().add(name);
    }

    private void openBlock() {
        line("{");
        indent++;
        blocks.push(new HashSet<>());
    }

    private void closeBlock() {
        blocks.pop();
        indent--;
        line("}");
    }

    /** Prints {@code s} as the body of a C block already opened by the caller. */
    private void body(Stmt s) {
        indent++;
        blocks.push(new HashSet<>());
        stmt(s);
        blocks.pop();
        indent--;
    }

    private void stmt(Stmt s) {
        switch (s) {
            case Stmt.Seq seq -> seq.stmts().forEach(this::stmt);
            case Stmt.For loop -> {
                if (loop.kind().isGpu()) gpuLoop(loop);
                else serialLoop(loop);
            }
            case Stmt.Store st -> store(st);
            case Stmt.LetStmt let -> {
                Type t = let.value().type();
                OpenClTypes.check(t, "kernel " + f.name());
                noteType(t);
                String value = exprs.print(let.value());
                String name = varNames.get(let.var().name());
                boolean nested = !declare(name);
                if (nested) {
                    openBlock();
                    declare(name);
                }
                line("const " + of(t) + " " + name + " = " + value + ";");
                Interval old = bind(let.var(), t.isInt() && t.lanes() == 1 ? Bounds.of(let.value(), ranges) : null);
                stmt(let.body());
                unbind(let.var(), old);
                if (nested) closeBlock();
            }
            case Stmt.IfThenElse ite -> {
                if (ite.cond().type().lanes() != 1)
                    throw new OpenClException("kernel " + f.name() + ": if with a vector condition: " + ite.cond());
                line("if (" + exprs.print(ite.cond()) + ") {");
                body(ite.then());
                if (ite.otherwise() != null) {
                    line("} else {");
                    body(ite.otherwise());
                }
                line("}");
            }
            case Stmt.Allocate a -> allocate(a);
            case Stmt.Barrier b -> line(b.scope() == MemoryScope.SHARED ? "barrier(CLK_LOCAL_MEM_FENCE);" : "barrier(CLK_GLOBAL_MEM_FENCE);");
        }
    }

    private Interval bind(Expr.Var v, Interval range) {
        bound.merge(v.name(), 1, Integer::sum);
        return range == null ? ranges.remove(v.name()) : ranges.put(v.name(), range);
    }

    private void unbind(Expr.Var v, Interval old) {
        bound.merge(v.name(), -1, Integer::sum);
        if (old == null) ranges.remove(v.name());
        else ranges.put(v.name(), old);
    }

    private static Long constant(Expr e) {
        return Simplify.expr(e) instanceof Expr.IntImm(var t, long v) ? v : null;
    }

    private static boolean hasLoad(Expr e) {
        if (e instanceof Expr.Load) return true;
        boolean[] found = {false};
        Children.forEach(e, c -> found[0] |= hasLoad(c));
        return found[0];
    }

    private void serialLoop(Stmt.For loop) {
        Expr.Var v = loop.var();
        String name = varNames.get(v.name());
        String type = of(v.type());
        Long min = constant(loop.min()), extent = constant(loop.extent());
        Expr end = Simplify.expr(new Expr.Add(loop.min(), loop.extent()));
        String head;
        if (hasLoad(loop.min()) || hasLoad(loop.extent())) {
            // the IR evaluates the bounds once; the body may store to what they load
            String endName = names.fresh(name + "_end");
            head = "for (" + type + " " + name + " = " + exprs.print(loop.min()) + ", " + endName + " = " + exprs.print(end) + "; "
                    + name + " < " + endName + "; ++" + name + ") {";
        } else {
            head = "for (" + type + " " + name + " = " + exprs.print(loop.min()) + "; " + name + " < " + exprs.print(end) + "; ++" + name + ") {";
        }
        if (loop.kind() == ForKind.UNROLLED && extent != null && extent <= 64) line("#pragma unroll");
        line(head);
        Interval old = bind(v, min != null && extent != null && extent > 0 ? new Interval(min, min + extent - 1) : null);
        body(loop.body());
        unbind(v, old);
        line("}");
    }

    /**
     * A loop bound to a work-group or work-item index. Every loop bound to an axis spans the whole
     * axis ({@link LaunchExtents} refuses any other), so no work-item needs a guard.
     */
    private void gpuLoop(Stmt.For loop) {
        ForKind kind = loop.kind();
        int dim = switch (kind) {
            case GPU_BLOCK_X, GPU_THREAD_X -> 0;
            case GPU_BLOCK_Y, GPU_THREAD_Y -> 1;
            default -> 2;
        };
        long extent = constant(loop.extent()); // LaunchExtents.of checked it is a constant
        Expr.Var v = loop.var();
        String name = varNames.get(v.name());
        String id = (kind.isGpuBlock() ? "get_group_id(" : "get_local_id(") + dim + ")";
        Long min = constant(loop.min());
        String minText = min != null && min == 0 ? null : exprs.print(loop.min());
        boolean nested = !declare(name);
        if (nested) {
            openBlock();
            declare(name);
        }
        line("const " + of(v.type()) + " " + name + " = " + (minText == null ? id : minText + " + " + id) + ";");
        Interval old = bind(v, min != null ? new Interval(min, min + extent - 1) : null);
        stmt(loop.body());
        unbind(v, old);
        if (nested) closeBlock();
    }

    private void allocate(Stmt.Allocate a) {
        Buffer buf = a.buffer();
        String name = allocNames.get(buf);
        boolean nested = false;
        if (buf.scope() != MemoryScope.SHARED) { // SHARED ones were declared at kernel scope
            long bytes = buf.size() * buf.dtype().bytes();
            if (bytes > MAX_PRIVATE_BYTES)
                throw new OpenClException("kernel " + f.name() + " allocates " + buf.name() + " (" + buf.size() + " x " + buf.dtype() + ", "
                        + bytes + " bytes) in " + buf.scope() + " memory inside the kernel; an OpenCL work-item can hold at most "
                        + MAX_PRIVATE_BYTES + " bytes privately"
                        + (buf.scope() == MemoryScope.GLOBAL ? ": hoist it out of the kernel into a workspace buffer passed as a parameter"
                                : ": make it smaller or SHARED"));
            nested = !declare(name);
            if (nested) {
                openBlock();
                declare(name);
            }
            int w = vectorLanes(buf);
            line(w > 1 ? memoryVector(buf.dtype(), w) + " " + name + "[" + buf.size() / w + "];"
                    : memory(buf.dtype()) + " " + name + "[" + buf.size() + "];");
        }
        Map<String, String> scope = new HashMap<>(buffers.peek());
        scope.put(buf.name(), name);
        buffers.push(scope);
        stmt(a.body());
        buffers.pop();
        if (nested) closeBlock();
    }

    private void store(Stmt.Store st) {
        Buffer buf = st.buffer();
        ScalarType t = buf.dtype();
        Type vt = st.value().type(), it = st.index().type();
        if (vt.scalar() != t)
            throw new OpenClException("kernel " + f.name() + ": store of a " + vt + " value into " + buf.name() + " of " + t + " (insert a Cast)");
        String p = bufferName(buf);
        int lanes = it.lanes();
        if (lanes == 1) {
            if (vt.lanes() > 1) throw new OpenClException("kernel " + f.name() + ": store of a " + vt.lanes() + "-lane value to the scalar index "
                    + st.index() + " of " + buf.name());
            String value = exprs.toMemory(t, st.value(), 1);
            if (t == ScalarType.F16) line("vstore_half(" + value + ", " + exprs.print(st.index()) + ", " + p + ");");
            else line(p + "[" + exprs.print(st.index()) + "] = " + value + ";");
            return;
        }
        OpenClTypes.check(new Type(t, lanes), "kernel " + f.name());
        String value = exprs.toMemory(t, st.value(), lanes);
        Expr base = ExprPrinter.denseBase(st.index());
        if (vectorLanes(buf) > 1) {
            line(vectorElement(buf, base) + " = " + value + ";");
            return;
        }
        if (base != null) {
            line("vstore" + lanes + "(" + value + ", 0, " + exprs.pointerPlus(p, base) + ");");
            return;
        }
        // a scatter: one store per lane, in lane order (a later lane wins where two indices meet)
        String v = temp("val", memoryVector(t, lanes), value);
        List<String> indices = exprs.laneIndices(st.index());
        for (int j = 0; j < lanes; j++) line(p + "[" + indices.get(j) + "] = " + v + ".s" + Character.toUpperCase(Character.forDigit(j, 16)) + ";");
    }
}
