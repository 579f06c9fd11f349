package dev.kiln.schedules;

import dev.kiln.irlow.MemoryScope;
import dev.kiln.irlow.stmt.ForKind;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One recorded schedule primitive with its arguments. A schedule is a list of steps: printed one
 * per line ({@code split C.i1 16}), parsed back and replayed on the same lowered function, which
 * is what lets the tuner store and search schedules as data.
 */
public sealed interface Step {
    /** The step as one line of a trace. */
    String print();

    record Split(String loop, long factor) implements Step {
        public Split {
            checkName(loop);
        }

        public String print() {
            return "split " + loop + " " + factor;
        }
    }

    record Reorder(List<String> order) implements Step {
        public Reorder {
            order = List.copyOf(order);
            order.forEach(Step::checkName);
        }

        public String print() {
            return "reorder " + String.join(" ", order);
        }
    }

    record Fuse(String outer, String inner) implements Step {
        public Fuse {
            checkName(outer);
            checkName(inner);
        }

        public String print() {
            return "fuse " + outer + " " + inner;
        }
    }

    /** Sets how a loop runs (parallel, vectorized, unrolled, bound to a GPU index, serial). */
    record Annotate(String loop, ForKind kind) implements Step {
        public Annotate {
            checkName(loop);
        }

        public String print() {
            return switch (kind) {
                case PARALLEL -> "parallel " + loop;
                case VECTORIZED -> "vectorize " + loop;
                case UNROLLED -> "unroll " + loop;
                default -> "annotate " + loop + " " + kind.name().toLowerCase(Locale.ROOT);
            };
        }
    }

    /** Binds a loop to a GPU index ({@code bind C.i0 blockIdx.x}); only the {@code GPU_*} kinds. */
    record Bind(String loop, ForKind kind) implements Step {
        public Bind {
            checkName(loop);
            if (!kind.isGpu())
                throw new IllegalArgumentException("bind " + loop + ": " + kind.name().toLowerCase(Locale.ROOT)
                        + " is not a GPU index (blockIdx.x/y/z, threadIdx.x/y/z); use parallel, vectorize, unroll or annotate for it");
        }

        public String print() {
            return "bind " + loop + " " + gpuName(kind);
        }

        /** blockIdx.x for GPU_BLOCK_X, threadIdx.y for GPU_THREAD_Y, ... */
        static String gpuName(ForKind k) {
            String[] p = k.name().split("_"); // GPU, BLOCK|THREAD, X|Y|Z
            return p[1].toLowerCase(Locale.ROOT) + "Idx." + p[2].toLowerCase(Locale.ROOT);
        }

        static ForKind parseGpuName(String s) {
            for (ForKind k : ForKind.values()) if (k.isGpu() && gpuName(k).equals(s)) return k;
            throw new IllegalArgumentException("unknown GPU index " + s + "; expected blockIdx.x/y/z or threadIdx.x/y/z");
        }
    }

    /** Substitutes the producer of an intermediate buffer into its readers and removes it. */
    record ComputeInline(String buffer) implements Step {
        public ComputeInline {
            checkName(buffer);
        }

        public String print() {
            return "compute_inline " + buffer;
        }
    }

    /** Moves the producer of an intermediate buffer into a consumer loop, computing the region read there. */
    record ComputeAt(String buffer, String loop) implements Step {
        public ComputeAt {
            checkName(buffer);
            checkName(loop);
        }

        public String print() {
            return "compute_at " + buffer + " " + loop;
        }
    }

    /** Reads below a loop go to a local copy of the region they read, made at the top of each iteration. */
    record CacheRead(String buffer, String loop, MemoryScope scope) implements Step {
        public CacheRead {
            checkName(buffer);
            checkName(loop);
            java.util.Objects.requireNonNull(scope, "scope");
        }

        /** A cache in {@link MemoryScope#GLOBAL} memory (the only scope a CPU kernel has). */
        public CacheRead(String buffer, String loop) {
            this(buffer, loop, MemoryScope.GLOBAL);
        }

        public String print() {
            return "cache_read " + buffer + " " + loop + scopeSuffix(scope);
        }
    }

    /** Stores (and loads) below a loop go to a local buffer, copied back at the end of each iteration. */
    record CacheWrite(String buffer, String loop, MemoryScope scope) implements Step {
        public CacheWrite {
            checkName(buffer);
            checkName(loop);
            java.util.Objects.requireNonNull(scope, "scope");
        }

        /** A cache in {@link MemoryScope#GLOBAL} memory (the only scope a CPU kernel has). */
        public CacheWrite(String buffer, String loop) {
            this(buffer, loop, MemoryScope.GLOBAL);
        }

        public String print() {
            return "cache_write " + buffer + " " + loop + scopeSuffix(scope);
        }
    }

    /** A reduction's init moves from its own nest over the whole buffer to just before its reduce loop {@code loop}. */
    record DecomposeReduction(String buffer, String loop) implements Step {
        public DecomposeReduction {
            checkName(buffer);
            checkName(loop);
        }

        public String print() {
            return "decompose_reduction " + buffer + " " + loop;
        }
    }

    /** An intermediate only touched inside {@code loop} is allocated there, shrunk to what one iteration touches. */
    record Localize(String buffer, String loop) implements Step {
        public Localize {
            checkName(buffer);
            checkName(loop);
        }

        public String print() {
            return "localize " + buffer + " " + loop;
        }
    }

    /** Parses one line written by {@link #print()}. */
    static Step parse(String line) {
        String[] w = line.trim().split("\\s+");
        String usage = "bad schedule step '" + line.trim() + "': expected one of 'split LOOP FACTOR', 'reorder LOOP...', "
                + "'fuse OUTER INNER', 'parallel LOOP', 'vectorize LOOP', 'unroll LOOP', 'annotate LOOP KIND', 'bind LOOP blockIdx.x', "
                + "'compute_inline BUFFER', 'compute_at BUFFER LOOP', 'cache_read BUFFER LOOP [shared|register]', 'cache_write BUFFER LOOP [shared|register]', "
                + "'decompose_reduction BUFFER LOOP', 'localize BUFFER LOOP'";
        try {
            return switch (w[0]) {
                case "split" -> {
                    if (w.length != 3) throw new IllegalArgumentException(usage);
                    yield new Split(w[1], Long.parseLong(w[2]));
                }
                case "reorder" -> {
                    if (w.length < 2) throw new IllegalArgumentException(usage);
                    yield new Reorder(Arrays.asList(w).subList(1, w.length));
                }
                case "fuse" -> {
                    if (w.length != 3) throw new IllegalArgumentException(usage);
                    yield new Fuse(w[1], w[2]);
                }
                case "parallel", "vectorize", "unroll" -> {
                    if (w.length != 2) throw new IllegalArgumentException(usage);
                    ForKind k = switch (w[0]) {
                        case "parallel" -> ForKind.PARALLEL;
                        case "vectorize" -> ForKind.VECTORIZED;
                        default -> ForKind.UNROLLED;
                    };
                    yield new Annotate(w[1], k);
                }
                case "annotate" -> {
                    if (w.length != 3) throw new IllegalArgumentException(usage);
                    yield new Annotate(w[1], ForKind.valueOf(w[2].toUpperCase(Locale.ROOT)));
                }
                case "bind" -> {
                    if (w.length != 3) throw new IllegalArgumentException(usage);
                    yield new Bind(w[1], Bind.parseGpuName(w[2]));
                }
                case "compute_inline" -> {
                    if (w.length != 2) throw new IllegalArgumentException(usage);
                    yield new ComputeInline(w[1]);
                }
                case "decompose_reduction" -> {
                    if (w.length != 3) throw new IllegalArgumentException(usage);
                    yield new DecomposeReduction(w[1], w[2]);
                }
                case "localize" -> {
                    if (w.length != 3) throw new IllegalArgumentException(usage);
                    yield new Localize(w[1], w[2]);
                }
                case "cache_read", "cache_write" -> {
                    if (w.length != 3 && w.length != 4) throw new IllegalArgumentException(usage);
                    MemoryScope scope = w.length == 4 ? MemoryScope.valueOf(w[3].toUpperCase(Locale.ROOT)) : MemoryScope.GLOBAL;
                    yield w[0].equals("cache_read") ? new CacheRead(w[1], w[2], scope) : new CacheWrite(w[1], w[2], scope);
                }
                case "compute_at" -> {
                    if (w.length != 3) throw new IllegalArgumentException(usage);
                    yield switch (w[0]) {
                        case "compute_at" -> new ComputeAt(w[1], w[2]);
                        case "cache_read" -> new CacheRead(w[1], w[2]);
                        default -> new CacheWrite(w[1], w[2]);
                    };
                }
                default -> throw new IllegalArgumentException(usage);
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(usage, e);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("bad schedule step")) throw e;
            throw new IllegalArgumentException(usage + " (" + e.getMessage() + ")", e);
        }
    }

    /** The scope word a cache step ends with: none for GLOBAL, so CPU traces print as before. */
    private static String scopeSuffix(MemoryScope scope) {
        return scope == MemoryScope.GLOBAL ? "" : " " + scope.name().toLowerCase(Locale.ROOT);
    }

    private static void checkName(String loop) {
        if (loop == null || loop.isEmpty() || loop.chars().anyMatch(Character::isWhitespace))
            throw new IllegalArgumentException("name '" + loop + "' is empty or has spaces; a trace could not be parsed back");
    }
}
