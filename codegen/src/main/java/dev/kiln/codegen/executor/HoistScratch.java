package dev.kiln.codegen.executor;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Graph;
import dev.kiln.irhigh.KilnException;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Value;
import dev.kiln.irlow.Buffer;
import dev.kiln.irlow.PrimFunc;
import dev.kiln.irlow.ScalarType;
import dev.kiln.irlow.stmt.Stmt;
import dev.kiln.irlow.transform.Children;
import dev.kiln.schedules.ops.Kernel;
import dev.kiln.schedules.ops.OpInventory;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns the local buffers a kernel allocates once per call (outside every loop: a padded copy, a
 * whole-output accumulator) into extra parameters bound to graph values of their own, which the
 * memory plan places in the workspace for that kernel's call only. Allocated in the kernel, each
 * call would take them from malloc, and a large block comes back as fresh pages (mmap, or a
 * trimmed heap) whose page faults cost milliseconds per run. Buffers allocated inside loops
 * (per-tile accumulators) stay where they are.
 */
public final class HoistScratch {
    /** Graph values made for hoisted buffers are named {@code __scratch:<kernel>:<buffer>}. */
    private static final String PREFIX = "__scratch:";

    private HoistScratch() {}

    /** The kernels with their once-per-call buffers as parameters; adds a value to {@code g} for each. */
    public static List<Kernel> run(List<Kernel> kernels, Graph g) {
        return kernels.stream().map(k -> hoist(k, g)).toList();
    }

    /** Whether graph value {@code name} is a buffer this pass took out of a kernel. */
    public static boolean isScratch(String name) {
        return name.startsWith(PREFIX);
    }

    private static Kernel hoist(Kernel k, Graph g) {
        List<Buffer> scratch = new ArrayList<>();
        Stmt body = hoist(k.func().body(), scratch);
        if (scratch.isEmpty()) return k;
        List<Buffer> params = new ArrayList<>(k.func().params());
        List<String> outputs = new ArrayList<>(k.outputs());
        for (Buffer b : scratch) {
            String value = PREFIX + k.func().name() + ":" + b.name();
            g.values().put(value, new Value(value, dtypeOf(b.dtype()), Shape.of(b.size())));
            params.add(b);
            outputs.add(value);
        }
        return new Kernel(new PrimFunc(k.func().name(), params, body), k.inputs(), outputs, k.info());
    }

    /** {@code s} without the allocations that are not inside a loop, which are added to {@code out}. */
    private static Stmt hoist(Stmt s, List<Buffer> out) {
        return switch (s) {
            case Stmt.Allocate a -> {
                out.add(a.buffer());
                yield hoist(a.body(), out);
            }
            case Stmt.For f -> f;
            default -> Children.map(s, c -> hoist(c, out), e -> e);
        };
    }

    private static DType dtypeOf(ScalarType t) {
        for (DType d : DType.values()) {
            try {
                if (OpInventory.scalarType(d) == t) return d;
            } catch (RuntimeException e) {
                // a graph type with no loop-IR type
            }
        }
        throw new KilnException("internal error: no tensor type for loop-IR type " + t);
    }
}
