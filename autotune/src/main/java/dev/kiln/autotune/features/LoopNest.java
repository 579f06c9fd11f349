package dev.kiln.autotune.features;

import dev.kiln.autotune.features.IndexEval.Lets;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Expr.*;
import dev.kiln.irlow.stmt.ForKind;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Children;
import java.util.ArrayList;
import java.util.List;

/**
 * One walk over a kernel that gathers what the features are made of: a tree of loop frames,
 * each with the arithmetic done directly in its body (weighted by how often the body runs) and
 * the buffer accesses made there; plus whole-kernel counters.
 */
final class LoopNest {
    /** Operation classes counted, in feature order. */
    enum Op { FLOAT_ADD, FLOAT_MUL, FLOAT_FMA, FLOAT_DIV, FLOAT_CMP, INT, INT_DIV, LOGIC, SPECIAL, CAST, LOAD, STORE }

    /** A loop (or the kernel's top level, {@code loop == null}) and what runs directly in it. */
    static final class Frame {
        final Frame parent;
        final Stmt.For loop;
        final double extent;
        final int depth;
        /** Times this frame's body runs: the product of the extents of it and its enclosing loops. */
        final double trips;
        /** Weighted arithmetic (not loads, stores or casts) done directly in this frame's body. */
        double arithmetic;
        /** Weighted loads and stores done directly in this frame's body. */
        double memory;
        final List<Access> accesses = new ArrayList<>();

        Frame(Frame parent, Stmt.For loop, double extent) {
            this.parent = parent;
            this.loop = loop;
            this.extent = extent;
            this.depth = parent == null ? 0 : parent.depth + 1;
            this.trips = parent == null ? 1 : parent.trips * extent;
        }

        ForKind kind() {
            return loop.kind();
        }

        String name() {
            return loop.var().name();
        }

        /** The loops from the outermost to this one. */
        List<Frame> path() {
            List<Frame> out = new ArrayList<>();
            for (Frame f = this; f.loop != null; f = f.parent) out.addFirst(f);
            return out;
        }
    }

    /** One load or store, with the lets in scope so its index can be evaluated. */
    record Access(Buffer buffer, Expr index, Lets lets, boolean store) {}

    final Frame root = new Frame(null, null, 1);
    final List<Frame> frames = new ArrayList<>();
    final double[] ops = new double[Op.values().length];
    double floatElements;
    double vectorFloatElements;
    int maxLanes = 1;
    int loops;
    int nonConstantExtents;
    double guardRuns;
    double allocatedBytes;

    static LoopNest of(PrimFunc f) {
        LoopNest n = new LoopNest();
        n.frames.add(n.root);
        n.visit(f.body(), n.root, null);
        return n;
    }

    /** The frame with the most arithmetic (memory traffic breaks ties and decides for copy kernels). */
    Frame main() {
        Frame best = root;
        for (Frame f : frames)
            if (f.arithmetic > best.arithmetic || (f.arithmetic == best.arithmetic && f.memory > best.memory)) best = f;
        return best;
    }

    private void visit(Stmt s, Frame frame, Lets lets) {
        switch (s) {
            case Stmt.For f -> {
                loops++;
                count(f.min(), frame, lets);
                count(f.extent(), frame, lets);
                Long ext = IndexEval.constant(f.extent(), lets);
                if (ext == null) nonConstantExtents++;
                Frame inner = new Frame(frame, f, ext == null ? 1 : Math.max(0, ext));
                frames.add(inner);
                visit(f.body(), inner, lets);
            }
            case Stmt.Store(Buffer buf, Expr index, Expr value) -> {
                count(index, frame, lets);
                count(value, frame, lets);
                int lanes = index.type().lanes();
                add(Op.STORE, frame.trips * lanes);
                frame.memory += frame.trips * lanes;
                frame.accesses.add(new Access(buf, index, lets, true));
            }
            case Stmt.LetStmt(Var v, Expr value, Stmt body) -> {
                count(value, frame, lets);
                visit(body, frame, new Lets(v.name(), value, lets));
            }
            case Stmt.IfThenElse(Expr cond, Stmt then, Stmt otherwise) -> {
                count(cond, frame, lets);
                guardRuns += frame.trips;
                visit(then, frame, lets);
                if (otherwise != null) visit(otherwise, frame, lets);
            }
            case Stmt.Allocate(Buffer buf, Stmt body) -> {
                allocatedBytes += (double) buf.size() * buf.dtype().bytes();
                visit(body, frame, lets);
            }
            case Stmt.Barrier b -> {} // synchronisation, not work: nothing to count
            case Stmt.Seq(var stmts) -> {
                for (Stmt x : stmts) visit(x, frame, lets);
            }
        }
    }

    private void count(Expr e, Frame frame, Lets lets) {
        int lanes = e.type().lanes();
        maxLanes = Math.max(maxLanes, lanes);
        double w = frame.trips * lanes;
        boolean fl = e.type().isFloat();
        switch (e) {
            case Add(Mul m, Expr c) when fl -> {
                arith(Op.FLOAT_FMA, frame, w, true, lanes);
                count(m.a(), frame, lets);
                count(m.b(), frame, lets);
                count(c, frame, lets);
                return;
            }
            case Add(Expr c, Mul m) when fl -> {
                arith(Op.FLOAT_FMA, frame, w, true, lanes);
                count(c, frame, lets);
                count(m.a(), frame, lets);
                count(m.b(), frame, lets);
                return;
            }
            case Add a -> arith(fl ? Op.FLOAT_ADD : Op.INT, frame, w, fl, lanes);
            case Sub a -> arith(fl ? Op.FLOAT_ADD : Op.INT, frame, w, fl, lanes);
            case Mul a -> arith(fl ? Op.FLOAT_MUL : Op.INT, frame, w, fl, lanes);
            case Div a -> arith(fl ? Op.FLOAT_DIV : Op.INT_DIV, frame, w, fl, lanes);
            case Mod a -> arith(fl ? Op.FLOAT_DIV : Op.INT_DIV, frame, w, fl, lanes);
            case Min a -> arith(fl ? Op.FLOAT_CMP : Op.INT, frame, w, fl, lanes);
            case Max a -> arith(fl ? Op.FLOAT_CMP : Op.INT, frame, w, fl, lanes);
            case Cmp c -> {
                boolean f = c.a().type().isFloat();
                arith(f ? Op.FLOAT_CMP : Op.LOGIC, frame, w, f, lanes);
            }
            case And a -> arith(Op.LOGIC, frame, w, false, lanes);
            case Or a -> arith(Op.LOGIC, frame, w, false, lanes);
            case Not a -> arith(Op.LOGIC, frame, w, false, lanes);
            case Select a -> arith(Op.LOGIC, frame, w, false, lanes);
            case Call c -> arith(Op.SPECIAL, frame, w, true, lanes);
            case Cast c -> add(Op.CAST, w);
            case Load l -> {
                add(Op.LOAD, w);
                frame.memory += w;
                frame.accesses.add(new Access(l.buffer(), l.index(), lets, false));
            }
            default -> {}
        }
        Children.forEach(e, c -> count(c, frame, lets));
    }

    private void arith(Op op, Frame frame, double w, boolean isFloat, int lanes) {
        add(op, w);
        frame.arithmetic += w;
        if (isFloat) {
            floatElements += w;
            if (lanes > 1) vectorFloatElements += w;
        }
    }

    private void add(Op op, double w) {
        ops[op.ordinal()] += w;
    }
}
