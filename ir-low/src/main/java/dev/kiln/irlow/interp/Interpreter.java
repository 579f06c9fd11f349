package dev.kiln.irlow.interp;

import static dev.kiln.irlow.interp.Scalars.*;

import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.Type;
import dev.kiln.irlow.expr.CmpOp;
import dev.kiln.irlow.expr.Expr;
import dev.kiln.irlow.expr.Expr.*;
import dev.kiln.irlow.stmt.Stmt;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs any loop IR in plain Java: the oracle that schedules and vectorization are checked
 * against. The IR is first compiled to a tree of closures (variables and buffers resolved to
 * slots), then run. Vector expressions are evaluated lane by lane: every closure takes the lane
 * it is asked for, and scalars ignore it.
 *
 * <p>Storage per buffer, as {@code dev.kiln.irhigh.Tensor}: {@code float[]} for F32 and F16,
 * {@code double[]} for F64, {@code long[]} for every integer type and BOOL (0/1); signed values
 * are kept sign-extended, unsigned ones zero-extended (U64 as its bit pattern). Arithmetic wraps
 * to its type's width, F32 results are rounded to float and F16 ones to half after each
 * operation. Loads and stores out of bounds throw {@link IndexOutOfBoundsException} naming the
 * buffer. Local buffers start filled with NaN (floats), so a read before a write shows.
 *
 * <p>GPU-bound loops run like serial ones, one block and one thread after another, so memory
 * scopes change nothing here: a SHARED allocation inside a block loop is that block's buffer, and
 * a barrier between thread loops is already satisfied. A nest of thread loops with a barrier
 * inside instead runs its threads at once (virtual threads, each with its own copy of the loop
 * variables), and the barrier waits until every thread of the block has reached it or finished:
 * the OpenCL and CUDA meaning, so a cooperative load into SHARED memory is checked here too.
 */
public final class Interpreter {
    private Interpreter() {}

    /** Runs {@code f} on one storage array per parameter, in order; outputs are written in place. */
    public static void run(PrimFunc f, List<Object> args) {
        if (args.size() != f.params().size())
            throw new IllegalArgumentException("kernel " + f.name() + " takes " + f.params().size() + " buffers, got " + args.size());
        Compiler c = new Compiler(f.name());
        for (Buffer b : f.params()) c.bindBuffer(b);
        Exec body = c.stmt(f.body());
        Frame frame = new Frame(c.longSlots, c.doubleSlots, c.vecSlots, c.bufSlots);
        for (int i = 0; i < args.size(); i++) {
            Buffer b = f.params().get(i);
            Object a = args.get(i);
            checkStorage(f.name(), b, a);
            frame.bufs[i] = a;
        }
        body.run(frame);
    }

    /** A zero-filled storage array for {@code b}, of the class {@link #run} expects. */
    public static Object newStorage(Buffer b) {
        int n = Math.toIntExact(b.size());
        return switch (b.dtype()) {
            case F32, F16, BF16 -> new float[n];
            case F64 -> new double[n];
            default -> new long[n];
        };
    }

    private static void checkStorage(String func, Buffer b, Object a) {
        Class<?> want = switch (b.dtype()) {
            case F32, F16, BF16 -> float[].class;
            case F64 -> double[].class;
            default -> long[].class;
        };
        if (a == null || a.getClass() != want)
            throw new IllegalArgumentException("kernel " + func + ": buffer " + b.name() + " (" + b.dtype() + ") needs a "
                    + want.getSimpleName() + ", got " + (a == null ? "null" : a.getClass().getSimpleName()));
        int len = java.lang.reflect.Array.getLength(a);
        if (len != b.size())
            throw new IllegalArgumentException("kernel " + func + ": buffer " + b.name() + " has " + b.size() + " elements, got an array of " + len);
    }

    // ---- runtime ----

    static final class Frame {
        final long[] longs;
        final double[] doubles;
        final Object[] vecs;
        final Object[] bufs;
        /** The block's barrier while its threads run at once (a thread nest with a barrier), else null. */
        java.util.concurrent.Phaser block;

        Frame(int nl, int nd, int nv, int nb) {
            longs = new long[nl];
            doubles = new double[nd];
            vecs = new Object[nv];
            bufs = new Object[nb];
        }

        /** A thread's own frame: its variables copied, buffers shared (vector values are never mutated in place). */
        Frame copy() {
            Frame g = new Frame(longs.clone(), doubles.clone(), vecs.clone(), bufs.clone());
            g.block = block;
            return g;
        }

        private Frame(long[] l, double[] d, Object[] v, Object[] b) {
            longs = l;
            doubles = d;
            vecs = v;
            bufs = b;
        }
    }

    /** An integer or bool expression, evaluated at one lane. */
    interface LE {
        long at(Frame f, int lane);
    }

    /** A float expression, evaluated at one lane (already rounded to its type). */
    interface DE {
        double at(Frame f, int lane);
    }

    interface Exec {
        void run(Frame f);
    }

    // ---- compiler from IR to closures ----

    private record Slot(int index, boolean isFloat, int lanes) {}

    private static final class Compiler {
        final String func;
        final Deque<Map<String, Slot>> scopes = new ArrayDeque<>();
        final Map<String, Integer> buffers = new HashMap<>();
        int longSlots, doubleSlots, vecSlots, bufSlots;
        /** The innermost GPU thread loop around the statement being compiled, or null. */
        String threadLoop;

        Compiler(String func) {
            this.func = func;
            scopes.push(new HashMap<>());
        }

        void bindBuffer(Buffer b) {
            if (buffers.containsKey(b.name())) throw error("two buffers are named " + b.name());
            buffers.put(b.name(), bufSlots++);
        }

        IllegalArgumentException error(String msg) {
            return new IllegalArgumentException("kernel " + func + ": " + msg);
        }

        Slot bind(Var v) {
            Slot s;
            if (v.type().lanes() > 1) s = new Slot(vecSlots++, v.type().isFloat(), v.type().lanes());
            else if (v.type().isFloat()) s = new Slot(doubleSlots++, true, 1);
            else s = new Slot(longSlots++, false, 1);
            scopes.push(new HashMap<>(scopes.peek()));
            scopes.peek().put(v.name(), s);
            return s;
        }

        void unbind() {
            scopes.pop();
        }

        int buffer(Buffer b) {
            Integer s = buffers.get(b.name());
            if (s == null) throw error("buffer " + b.name() + " is neither a parameter nor allocated here");
            return s;
        }

        // ---- statements ----

        Exec stmt(Stmt s) {
            return switch (s) {
                case Stmt.For(Var v, Expr min, Expr extent, var kind, Stmt body) when kind.isGpuThread() && hasBarrier(body) -> concurrent(v, min, extent, body);
                case Stmt.For(Var v, Expr min, Expr extent, var kind, Stmt body) -> {
                    LE lo = li(min), n = li(extent);
                    Slot slot = bind(v);
                    String outerThreadLoop = threadLoop;
                    if (kind.isGpuThread()) threadLoop = v.name();
                    Exec b = stmt(body);
                    threadLoop = outerThreadLoop;
                    unbind();
                    int i = slot.index();
                    yield f -> {
                        long start = lo.at(f, 0), end = start + n.at(f, 0);
                        for (long x = start; x < end; x++) {
                            f.longs[i] = x;
                            b.run(f);
                        }
                    };
                }
                case Stmt.Store st -> store(st);
                case Stmt.LetStmt(Var v, Expr value, Stmt body) -> let(v, value, body);
                case Stmt.IfThenElse(Expr cond, Stmt then, Stmt otherwise) -> {
                    if (cond.type().lanes() != 1) throw error("if with a vector condition: " + cond);
                    LE c = li(cond);
                    Exec t = stmt(then);
                    Exec o = otherwise == null ? f -> {} : stmt(otherwise);
                    yield f -> {
                        if (c.at(f, 0) != 0) t.run(f);
                        else o.run(f);
                    };
                }
                case Stmt.Allocate(Buffer buf, Stmt body) -> {
                    Map<String, Integer> saved = new HashMap<>(buffers);
                    buffers.remove(buf.name());
                    bindBuffer(buf);
                    int slot = buffers.get(buf.name());
                    Exec b = stmt(body);
                    buffers.clear();
                    buffers.putAll(saved);
                    yield f -> {
                        Object prev = f.bufs[slot];
                        f.bufs[slot] = poisoned(buf);
                        b.run(f);
                        f.bufs[slot] = prev;
                    };
                }
                case Stmt.Barrier b -> {
                    // Between two thread loops, which run one after another, every thread's writes
                    // are done before any thread reads: the barrier already holds. Inside a thread
                    // nest the threads run at once (concurrent) and meet here.
                    if (threadLoop == null) yield f -> {};
                    yield f -> {
                        if (f.block == null) throw new IllegalStateException("kernel " + func + ": a barrier outside a running thread nest");
                        f.block.arriveAndAwaitAdvance();
                    };
                }
                case Stmt.Seq(List<Stmt> stmts) -> {
                    Exec[] es = stmts.stream().map(this::stmt).toArray(Exec[]::new);
                    yield f -> {
                        for (Exec e : es) e.run(f);
                    };
                }
            };
        }

        /**
         * A GPU thread loop with a barrier inside: its iterations (and those of the thread loops
         * nested in it, a perfect nest of constant extents) run as virtual threads that share the
         * block's barrier; each innermost thread leaves the barrier's party when it finishes.
         */
        Exec concurrent(Var v, Expr min, Expr extent, Stmt body) {
            long threads = 1;
            Expr ext = extent;
            Stmt inside = body;
            String name = v.name();
            while (true) {
                if (!(ext instanceof Expr.IntImm(var t, long count)))
                    throw error("GPU thread loop " + name + " has a barrier inside and a non-constant extent " + ext);
                threads = Math.multiplyExact(threads, count);
                if (!(inside instanceof Stmt.For l && l.kind().isGpuThread())) break;
                ext = l.extent();
                name = l.var().name();
                inside = l.body();
            }
            // The walk above stopped at the innermost thread loop of a perfect nest; a thread loop
            // further in (after other statements) would make more threads than the barrier counts.
            boolean innermost = !(body instanceof Stmt.For inner && inner.kind().isGpuThread());
            if (innermost && dev.kiln.irlow.transform.Vars.anyStmt(body, x -> x instanceof Stmt.For l && l.kind().isGpuThread()))
                throw error("GPU thread loop " + v.name() + " has a barrier inside and thread loops that are not directly nested in it");
            LE lo = li(min), n = li(extent);
            Slot slot = bind(v);
            String outerThreadLoop = threadLoop;
            threadLoop = v.name();
            Exec b = stmt(body);
            threadLoop = outerThreadLoop;
            unbind();
            int i = slot.index();
            long parties = threads;
            return f -> {
                java.util.concurrent.Phaser block = f.block != null ? f.block : new java.util.concurrent.Phaser(Math.toIntExact(parties));
                long start = lo.at(f, 0), end = start + n.at(f, 0);
                List<Thread> started = new ArrayList<>();
                java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
                for (long x = start; x < end; x++) {
                    Frame g = f.copy();
                    g.block = block;
                    g.longs[i] = x;
                    started.add(Thread.ofVirtual().start(() -> {
                        try {
                            b.run(g);
                        } catch (Throwable t) {
                            failure.compareAndSet(null, t);
                        } finally {
                            if (innermost) block.arriveAndDeregister();
                        }
                    }));
                }
                for (Thread t : started) {
                    try {
                        t.join();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted while running the threads of kernel " + func, e);
                    }
                }
                Throwable t = failure.get();
                if (t instanceof RuntimeException re) throw re;
                if (t instanceof Error er) throw er;
                if (t != null) throw new IllegalStateException(t);
            };
        }

        private static boolean hasBarrier(Stmt s) {
            return dev.kiln.irlow.transform.Vars.anyStmt(s, x -> x instanceof Stmt.Barrier);
        }

        Object poisoned(Buffer b) {
            Object a = newStorage(b);
            if (a instanceof float[] x) java.util.Arrays.fill(x, Float.NaN);
            if (a instanceof double[] x) java.util.Arrays.fill(x, Double.NaN);
            return a;
        }

        Exec let(Var v, Expr value, Stmt body) {
            Type t = value.type();
            if (t.lanes() > 1) {
                int n = t.lanes();
                Exec[] fill = new Exec[1];
                Slot slot;
                if (t.isFloat()) {
                    DE e = dd(value);
                    slot = bind(new Var(v.name(), t));
                    int i = slot.index();
                    fill[0] = f -> {
                        double[] a = new double[n];
                        for (int k = 0; k < n; k++) a[k] = e.at(f, k);
                        f.vecs[i] = a;
                    };
                } else {
                    LE e = li(value);
                    slot = bind(new Var(v.name(), t));
                    int i = slot.index();
                    fill[0] = f -> {
                        long[] a = new long[n];
                        for (int k = 0; k < n; k++) a[k] = e.at(f, k);
                        f.vecs[i] = a;
                    };
                }
                Exec b = stmt(body);
                unbind();
                Exec fl = fill[0];
                return f -> {
                    fl.run(f);
                    b.run(f);
                };
            }
            if (t.isFloat()) {
                DE e = dd(value);
                int i = bind(new Var(v.name(), t)).index();
                Exec b = stmt(body);
                unbind();
                return f -> {
                    f.doubles[i] = e.at(f, 0);
                    b.run(f);
                };
            }
            LE e = li(value);
            int i = bind(new Var(v.name(), t)).index();
            Exec b = stmt(body);
            unbind();
            return f -> {
                f.longs[i] = e.at(f, 0);
                b.run(f);
            };
        }

        Exec store(Stmt.Store st) {
            Buffer buf = st.buffer();
            int slot = buffer(buf);
            int n = Math.max(st.index().type().lanes(), st.value().type().lanes());
            if (st.index().type().lanes() == 1 && n > 1)
                throw error("store of a " + n + "-lane value to the scalar index " + st.index() + " of " + buf.name());
            LE idx = li(st.index());
            ScalarType t = buf.dtype();
            String name = buf.name();
            if (t.isFloat) {
                DE v = dd(st.value());
                if (n == 1) {
                    return switch (t) {
                        case F64 -> f -> {
                            double[] a = (double[]) f.bufs[slot];
                            a[check(name, "store", idx.at(f, 0), a.length)] = v.at(f, 0);
                        };
                        default -> f -> {
                            float[] a = (float[]) f.bufs[slot];
                            a[check(name, "store", idx.at(f, 0), a.length)] = (float) round(t, v.at(f, 0));
                        };
                    };
                }
                return f -> {
                    long[] is = new long[n];
                    double[] vs = new double[n];
                    for (int k = 0; k < n; k++) {
                        is[k] = idx.at(f, k);
                        vs[k] = round(t, v.at(f, k));
                    }
                    Object a = f.bufs[slot];
                    for (int k = 0; k < n; k++) {
                        if (a instanceof double[] d) d[check(name, "store", is[k], d.length)] = vs[k];
                        else ((float[]) a)[check(name, "store", is[k], ((float[]) a).length)] = (float) vs[k];
                    }
                };
            }
            LE v = li(st.value());
            if (n == 1) {
                return f -> {
                    long[] a = (long[]) f.bufs[slot];
                    a[check(name, "store", idx.at(f, 0), a.length)] = wrap(t, v.at(f, 0));
                };
            }
            return f -> {
                long[] is = new long[n];
                long[] vs = new long[n];
                for (int k = 0; k < n; k++) {
                    is[k] = idx.at(f, k);
                    vs[k] = wrap(t, v.at(f, k));
                }
                long[] a = (long[]) f.bufs[slot];
                for (int k = 0; k < n; k++) a[check(name, "store", is[k], a.length)] = vs[k];
            };
        }

        int check(String buf, String what, long i, int size) {
            if (i < 0 || i >= size)
                throw new IndexOutOfBoundsException("kernel " + func + ": " + what + " out of bounds: " + buf + "[" + i + "] but "
                        + buf + " has " + size + " elements");
            return (int) i;
        }

        // ---- expressions ----

        /** Compiles an integer or bool expression. */
        LE li(Expr e) {
            if (e.type().isFloat()) throw error("expected an integer expression, got " + e.type() + ": " + e);
            ScalarType t = e.type().scalar();
            return switch (e) {
                case IntImm i -> {
                    long v = wrap(t, i.value());
                    yield (f, k) -> v;
                }
                case FloatImm x -> throw error("float constant with integer type " + t);
                case Var v -> {
                    Slot s = lookup(v);
                    int i = s.index();
                    if (s.lanes() > 1) yield (f, k) -> ((long[]) f.vecs[i])[k];
                    yield (f, k) -> f.longs[i];
                }
                case Add(Expr a, Expr b) -> {
                    LE x = li(a), y = li(b);
                    yield (f, k) -> wrap(t, x.at(f, k) + y.at(f, k));
                }
                case Sub(Expr a, Expr b) -> {
                    LE x = li(a), y = li(b);
                    yield (f, k) -> wrap(t, x.at(f, k) - y.at(f, k));
                }
                case Mul(Expr a, Expr b) -> {
                    LE x = li(a), y = li(b);
                    yield (f, k) -> wrap(t, x.at(f, k) * y.at(f, k));
                }
                case Div(Expr a, Expr b) -> {
                    LE x = li(a), y = li(b);
                    yield (f, k) -> wrap(t, floorDiv(t, x.at(f, k), y.at(f, k)));
                }
                case Mod(Expr a, Expr b) -> {
                    LE x = li(a), y = li(b);
                    yield (f, k) -> wrap(t, floorMod(t, x.at(f, k), y.at(f, k)));
                }
                case Min(Expr a, Expr b) -> {
                    LE x = li(a), y = li(b);
                    yield (f, k) -> {
                        long p = x.at(f, k), q = y.at(f, k);
                        return compare(t, p, q) <= 0 ? p : q;
                    };
                }
                case Max(Expr a, Expr b) -> {
                    LE x = li(a), y = li(b);
                    yield (f, k) -> {
                        long p = x.at(f, k), q = y.at(f, k);
                        return compare(t, p, q) >= 0 ? p : q;
                    };
                }
                case Cmp(CmpOp op, Expr a, Expr b) -> {
                    if (a.type().isFloat()) {
                        DE x = dd(a), y = dd(b);
                        yield (f, k) -> cmp(op, x.at(f, k), y.at(f, k)) ? 1 : 0;
                    }
                    LE x = li(a), y = li(b);
                    ScalarType ot = a.type().scalar();
                    yield (f, k) -> cmp(op, compare(ot, x.at(f, k), y.at(f, k))) ? 1 : 0;
                }
                case And(Expr a, Expr b) -> {
                    LE x = li(a), y = li(b);
                    yield (f, k) -> x.at(f, k) & y.at(f, k);
                }
                case Or(Expr a, Expr b) -> {
                    LE x = li(a), y = li(b);
                    yield (f, k) -> x.at(f, k) | y.at(f, k);
                }
                case Not(Expr a) -> {
                    LE x = li(a);
                    if (t == ScalarType.BOOL) yield (f, k) -> x.at(f, k) ^ 1;
                    yield (f, k) -> wrap(t, ~x.at(f, k));
                }
                case Select(Expr c, Expr a, Expr b) -> {
                    LE cond = li(c), x = li(a), y = li(b);
                    yield (f, k) -> {
                        long p = x.at(f, k), q = y.at(f, k); // both sides run: Select does not short-circuit
                        return cond.at(f, k) != 0 ? p : q;
                    };
                }
                case Cast(Type to, Expr v) -> {
                    ScalarType from = v.type().scalar();
                    if (from.isFloat) {
                        DE x = dd(v);
                        yield (f, k) -> fromDouble(t, x.at(f, k));
                    }
                    LE x = li(v);
                    yield (f, k) -> wrap(t, x.at(f, k));
                }
                case Load(Buffer buf, Expr index) -> {
                    int slot = buffer(buf);
                    LE idx = li(index);
                    String name = buf.name();
                    yield (f, k) -> {
                        long[] a = (long[]) f.bufs[slot];
                        return a[check(name, "load", idx.at(f, k), a.length)];
                    };
                }
                case Ramp(Expr base, Expr stride, int lanes) -> {
                    LE b = li(base), s = li(stride);
                    int m = base.type().lanes();
                    yield (f, k) -> wrap(t, b.at(f, k % m) + (long) (k / m) * s.at(f, k % m));
                }
                case Broadcast(Expr v, int lanes) -> {
                    LE x = li(v);
                    int m = v.type().lanes();
                    yield (f, k) -> x.at(f, k % m);
                }
                case Call c -> intCall(c);
                case TensorRead r -> throw error("tensor read of " + r.tensor().name() + " was not lowered");
                case Reduce r -> throw error("reduction was not lowered: " + r);
            };
        }

        LE intCall(Call c) {
            ScalarType t = c.type().scalar();
            Expr a0 = c.args().get(0);
            return switch (c.fn()) {
                case IS_NAN, IS_INF -> {
                    boolean nan = c.fn() == dev.kiln.irlow.expr.Intrinsic.IS_NAN;
                    if (!a0.type().isFloat()) yield (f, k) -> 0;
                    DE x = dd(a0);
                    yield (f, k) -> {
                        double v = x.at(f, k);
                        return (nan ? Double.isNaN(v) : Double.isInfinite(v)) ? 1 : 0;
                    };
                }
                case ABS -> {
                    LE x = li(a0);
                    yield (f, k) -> wrap(t, Math.abs(x.at(f, k)));
                }
                case DOT4_U8S8 -> {
                    if (c.args().size() != 3 || t != ScalarType.I32 || c.args().stream().anyMatch(a -> a.type().scalar() != ScalarType.I32))
                        throw error("DOT4_U8S8 takes three i32 arguments (accumulator, 4 u8, 4 s8) and gives i32: " + c);
                    LE acc = li(a0), a = li(c.args().get(1)), b = li(c.args().get(2));
                    yield (f, k) -> dev.kiln.irlow.expr.Intrinsic.dot4((int) acc.at(f, k), (int) a.at(f, k), (int) b.at(f, k));
                }
                case PAIR_BF16 -> {
                    int in = a0.type().lanes(), out = c.type().lanes();
                    if (c.args().size() != 1 || t != ScalarType.I32 || a0.type().scalar() != ScalarType.BF16 || in != 2 * out && !(in == 1 && out == 1))
                        throw error("PAIR_BF16 takes 2n bf16 lanes (or one) and gives n i32 lanes: " + c);
                    DE x = dd(a0);
                    if (in == 1) yield (f, k) -> dev.kiln.irlow.expr.Intrinsic.bf16Bits((float) x.at(f, 0));
                    yield (f, k) -> dev.kiln.irlow.expr.Intrinsic.bf16Bits((float) x.at(f, 2 * k))
                            | dev.kiln.irlow.expr.Intrinsic.bf16Bits((float) x.at(f, 2 * k + 1)) << 16;
                }
                default -> throw error(c.fn() + " on an integer type " + c.type() + " is not supported");
            };
        }

        /** Compiles a float expression. */
        DE dd(Expr e) {
            if (!e.type().isFloat()) throw error("expected a float expression, got " + e.type() + ": " + e);
            ScalarType t = e.type().scalar();
            return switch (e) {
                case FloatImm x -> {
                    double v = round(t, x.value());
                    yield (f, k) -> v;
                }
                case IntImm i -> {
                    double v = round(t, i.value());
                    yield (f, k) -> v;
                }
                case Var v -> {
                    Slot s = lookup(v);
                    int i = s.index();
                    if (s.lanes() > 1) yield (f, k) -> ((double[]) f.vecs[i])[k];
                    yield (f, k) -> f.doubles[i];
                }
                case Add(Expr a, Expr b) -> {
                    DE x = dd(a), y = dd(b);
                    yield (f, k) -> round(t, x.at(f, k) + y.at(f, k));
                }
                case Sub(Expr a, Expr b) -> {
                    DE x = dd(a), y = dd(b);
                    yield (f, k) -> round(t, x.at(f, k) - y.at(f, k));
                }
                case Mul(Expr a, Expr b) -> {
                    DE x = dd(a), y = dd(b);
                    yield (f, k) -> round(t, x.at(f, k) * y.at(f, k));
                }
                case Div(Expr a, Expr b) -> {
                    DE x = dd(a), y = dd(b);
                    yield (f, k) -> round(t, x.at(f, k) / y.at(f, k));
                }
                case Mod(Expr a, Expr b) -> {
                    DE x = dd(a), y = dd(b);
                    yield (f, k) -> round(t, x.at(f, k) % y.at(f, k)); // Java's % on doubles is C's fmod
                }
                case Min(Expr a, Expr b) -> {
                    DE x = dd(a), y = dd(b);
                    yield (f, k) -> Math.min(x.at(f, k), y.at(f, k));
                }
                case Max(Expr a, Expr b) -> {
                    DE x = dd(a), y = dd(b);
                    yield (f, k) -> Math.max(x.at(f, k), y.at(f, k));
                }
                case Select(Expr c, Expr a, Expr b) -> {
                    LE cond = li(c);
                    DE x = dd(a), y = dd(b);
                    yield (f, k) -> {
                        double p = x.at(f, k), q = y.at(f, k); // both sides run: Select does not short-circuit
                        return cond.at(f, k) != 0 ? p : q;
                    };
                }
                case Cast(Type to, Expr v) -> {
                    ScalarType from = v.type().scalar();
                    if (from.isFloat) {
                        DE x = dd(v);
                        yield (f, k) -> round(t, x.at(f, k));
                    }
                    LE x = li(v);
                    yield (f, k) -> round(t, toDouble(from, x.at(f, k)));
                }
                case Load(Buffer buf, Expr index) -> {
                    int slot = buffer(buf);
                    LE idx = li(index);
                    String name = buf.name();
                    if (buf.dtype() == ScalarType.F64) yield (f, k) -> {
                        double[] a = (double[]) f.bufs[slot];
                        return a[check(name, "load", idx.at(f, k), a.length)];
                    };
                    yield (f, k) -> {
                        float[] a = (float[]) f.bufs[slot];
                        return a[check(name, "load", idx.at(f, k), a.length)];
                    };
                }
                case Ramp(Expr base, Expr stride, int lanes) -> {
                    DE b = dd(base), s = dd(stride);
                    int m = base.type().lanes();
                    yield (f, k) -> round(t, b.at(f, k % m) + (k / m) * s.at(f, k % m));
                }
                case Broadcast(Expr v, int lanes) -> {
                    DE x = dd(v);
                    int m = v.type().lanes();
                    yield (f, k) -> x.at(f, k % m);
                }
                case Call c -> floatCall(c);
                case Cmp c -> throw error("comparison has type bool, not float: " + c);
                case And a -> throw error("logical and on floats: " + a);
                case Or o -> throw error("logical or on floats: " + o);
                case Not n -> throw error("logical not on floats: " + n);
                case TensorRead r -> throw error("tensor read of " + r.tensor().name() + " was not lowered");
                case Reduce r -> throw error("reduction was not lowered: " + r);
            };
        }

        DE floatCall(Call c) {
            ScalarType t = c.type().scalar();
            if (c.fn() == dev.kiln.irlow.expr.Intrinsic.DOT2_BF16) {
                if (c.args().size() != 3 || t != ScalarType.F32 || c.args().get(0).type().scalar() != ScalarType.F32
                        || c.args().get(1).type().scalar() != ScalarType.I32 || c.args().get(2).type().scalar() != ScalarType.I32)
                    throw error("DOT2_BF16 takes an f32 accumulator and two i32 words of bf16 pairs and gives f32: " + c);
                DE acc = dd(c.args().get(0));
                LE a = li(c.args().get(1)), b = li(c.args().get(2));
                return (f, k) -> dev.kiln.irlow.expr.Intrinsic.dot2Bf16((float) acc.at(f, k), (int) a.at(f, k), (int) b.at(f, k));
            }
            List<DE> args = new ArrayList<>();
            for (Expr a : c.args()) {
                if (!a.type().isFloat()) throw error(c.fn() + " needs float arguments, got " + a.type());
                args.add(dd(a));
            }
            DE x = args.get(0);
            if (c.fn() == dev.kiln.irlow.expr.Intrinsic.POW || c.fn() == dev.kiln.irlow.expr.Intrinsic.ATAN2) {
                if (args.size() != 2) throw error(c.fn() + " takes two arguments");
                DE y = args.get(1);
                boolean pow = c.fn() == dev.kiln.irlow.expr.Intrinsic.POW;
                return (f, k) -> round(t, pow ? Math.pow(x.at(f, k), y.at(f, k)) : Math.atan2(x.at(f, k), y.at(f, k)));
            }
            java.util.function.DoubleUnaryOperator fn = switch (c.fn()) {
                case EXP -> Math::exp;
                case LOG -> Math::log;
                case SQRT -> Math::sqrt;
                case TANH -> Math::tanh;
                case ERF -> Erf::erf;
                case ABS -> Math::abs;
                case FLOOR -> Math::floor;
                case CEIL -> Math::ceil;
                case ROUND_EVEN -> Math::rint;
                case SIN -> Math::sin;
                case COS -> Math::cos;
                case TAN -> Math::tan;
                case ASIN -> Math::asin;
                case ACOS -> Math::acos;
                case ATAN -> Math::atan;
                case SINH -> Math::sinh;
                case COSH -> Math::cosh;
                case ASINH -> v -> Double.isInfinite(v) ? v : Math.copySign(Math.log(Math.abs(v) + Math.sqrt(v * v + 1)), v);
                case ACOSH -> v -> Math.log(v + Math.sqrt(v * v - 1));
                case ATANH -> v -> 0.5 * Math.log1p(2 * v / (1 - v));
                case SIGMOID -> v -> 1 / (1 + Math.exp(-v));
                case IS_NAN -> v -> Double.isNaN(v) ? 1 : 0;
                case IS_INF -> v -> Double.isInfinite(v) ? 1 : 0;
                case POW, ATAN2 -> throw new AssertionError();
                case DOT4_U8S8, PAIR_BF16 -> throw error(c.fn() + " is an integer function, not a float one: " + c);
                case DOT2_BF16 -> throw new AssertionError();
            };
            return (f, k) -> round(t, fn.applyAsDouble(x.at(f, k)));
        }

        Slot lookup(Var v) {
            Slot s = scopes.peek().get(v.name());
            if (s == null) throw error("variable " + v.name() + " is used outside any loop or let that binds it");
            return s;
        }
    }
}
