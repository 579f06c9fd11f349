package dev.kiln.irlow.expr;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.te.Operation;
import java.util.List;

/**
 * Loop-IR expressions: immutable records that compare structurally.
 *
 * <p>Semantics: integer {@link Div} and {@link Mod} are floor division and floor modulo (the
 * result of Mod has the sign of the divisor), as in TVM's floordiv/floormod; float Div is IEEE
 * division and float Mod is fmod. Arithmetic operands have the same type (use {@link Cast}).
 * Vector expressions have lanes > 1: {@link Ramp} and {@link Broadcast} make them; a
 * {@link Load} with a vector index loads a vector. {@link TensorRead} exists only in tensor
 * expressions and is gone after lowering.
 */
public sealed interface Expr {
    Type type();

    record IntImm(Type type, long value) implements Expr {}

    record FloatImm(Type type, double value) implements Expr {}

    /** A variable; two Vars are the same variable iff their names are equal. */
    record Var(String name, Type type) implements Expr {
        @Override
        public String toString() {
            return name;
        }
    }

    record Add(Expr a, Expr b) implements Expr {
        public Type type() { return a.type(); }
    }

    record Sub(Expr a, Expr b) implements Expr {
        public Type type() { return a.type(); }
    }

    record Mul(Expr a, Expr b) implements Expr {
        public Type type() { return a.type(); }
    }

    record Div(Expr a, Expr b) implements Expr {
        public Type type() { return a.type(); }
    }

    record Mod(Expr a, Expr b) implements Expr {
        public Type type() { return a.type(); }
    }

    record Min(Expr a, Expr b) implements Expr {
        public Type type() { return a.type(); }
    }

    record Max(Expr a, Expr b) implements Expr {
        public Type type() { return a.type(); }
    }

    /** A comparison; yields bool with the operands' lane count. */
    record Cmp(CmpOp op, Expr a, Expr b) implements Expr {
        public Type type() { return new Type(ScalarType.BOOL, a.type().lanes()); }
    }

    record And(Expr a, Expr b) implements Expr {
        public Type type() { return a.type(); }
    }

    record Or(Expr a, Expr b) implements Expr {
        public Type type() { return a.type(); }
    }

    record Not(Expr a) implements Expr {
        public Type type() { return a.type(); }
    }

    /** cond ? t : f, evaluated without short-circuit (both sides must be safe to evaluate). */
    record Select(Expr cond, Expr t, Expr f) implements Expr {
        public Type type() { return t.type(); }
    }

    /** Numeric conversion: float to int truncates toward zero; int to bool is != 0. */
    record Cast(Type type, Expr value) implements Expr {}

    /** Reads element {@code index} (or a vector of elements for a vector index) of a buffer. */
    record Load(Buffer buffer, Expr index) implements Expr {
        public Type type() { return new Type(buffer.dtype(), index.type().lanes()); }
    }

    /** The vector {base, base+stride, ..., base+(lanes-1)*stride}. */
    record Ramp(Expr base, Expr stride, int lanes) implements Expr {
        public Type type() { return base.type().withLanes(lanes); }
    }

    record Broadcast(Expr value, int lanes) implements Expr {
        public Type type() { return value.type().withLanes(lanes); }
    }

    /** A math function applied elementwise. */
    record Call(Type type, Intrinsic fn, List<Expr> args) implements Expr {
        public Call {
            args = List.copyOf(args);
        }
    }

    /** Reads a tensor of a tensor expression at multi-dimensional indices (tensor expressions only). */
    record TensorRead(Operation tensor, List<Expr> indices) implements Expr {
        public TensorRead {
            indices = List.copyOf(indices);
        }

        public Type type() { return Type.of(tensor.dtype()); }
    }

    /**
     * A reduction of {@code source} over {@code axes} (each with its extent); appears only as
     * the whole body of a {@link dev.kiln.irlow.te.Compute}.
     */
    record Reduce(ReduceOp op, Expr source, List<Var> axes, List<Long> extents) implements Expr {
        public Reduce {
            axes = List.copyOf(axes);
            extents = List.copyOf(extents);
        }

        public Type type() { return source.type(); }
    }

    enum ReduceOp { SUM, PROD, MAX, MIN }
}
