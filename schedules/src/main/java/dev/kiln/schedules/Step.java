package dev.kiln.schedules;

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

    /** Parses one line written by {@link #print()}. */
    static Step parse(String line) {
        String[] w = line.trim().split("\\s+");
        String usage = "bad schedule step '" + line.trim() + "': expected one of 'split LOOP FACTOR', 'reorder LOOP...', "
                + "'fuse OUTER INNER', 'parallel LOOP', 'vectorize LOOP', 'unroll LOOP', 'annotate LOOP KIND'";
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
                default -> throw new IllegalArgumentException(usage);
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(usage, e);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("bad schedule step")) throw e;
            throw new IllegalArgumentException(usage + " (" + e.getMessage() + ")", e);
        }
    }

    private static void checkName(String loop) {
        if (loop == null || loop.isEmpty() || loop.chars().anyMatch(Character::isWhitespace))
            throw new IllegalArgumentException("loop name '" + loop + "' is empty or has spaces; a trace could not be parsed back");
    }
}
