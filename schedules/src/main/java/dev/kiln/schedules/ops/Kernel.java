package dev.kiln.schedules.ops;

import dev.kiln.irlow.PrimFunc;
import java.util.List;

/**
 * The scheduled kernel of one graph node. {@code inputs} and {@code outputs} are the graph value
 * names bound to {@code func}'s parameters, in parameter order (inputs first). Constants that only
 * steer shapes or index arithmetic (Reshape's shape, Slice's starts, ...) are folded into the
 * kernel and are not parameters; weights are parameters, fed from the embedded initializer.
 *
 * <p>Lowering a node may add constants it derives from the node's own (Conv's weights packed in
 * output-channel blocks, {@code <weight>__packed16}) to the graph's initializers and list them
 * here; the executor embeds only the constants some kernel lists, so an original weight that no
 * kernel reads any more is dropped.
 *
 * <p>{@code info} describes the kernel for profiles ({@code kiln bench --profile}); it does not
 * change the code.
 */
public record Kernel(PrimFunc func, List<String> inputs, List<String> outputs, Info info) {
    public Kernel {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        if (info == null) info = Info.NONE;
        if (inputs.size() + outputs.size() != func.params().size())
            throw new IllegalArgumentException("kernel " + func.name() + " has " + func.params().size() + " parameters but binds "
                    + inputs.size() + " inputs and " + outputs.size() + " outputs");
    }

    public Kernel(PrimFunc func, List<String> inputs, List<String> outputs) {
        this(func, inputs, outputs, Info.NONE);
    }

    /** This kernel with another function (a later lowering step of it), the same bindings and info. */
    public Kernel withFunc(PrimFunc f) {
        return new Kernel(f, inputs, outputs, info);
    }

    /**
     * What a profile says of a kernel: the graph node it runs ({@code ""} for one the executor
     * adds), the ONNX ops it computes (a fused group's in order), its schedule templates (lower
     * case, {@code +}-joined: {@code conv_nchwc+injective}), the layout it reads and writes
     * ({@code plain}, {@code NCHW16c}, or a conversion {@code plain->NCHW16c}), and its work
     * ({@link Work#flops}).
     */
    public record Info(String node, List<String> ops, String template, String layout, double flops) {
        public static final Info NONE = new Info("", List.of(), "", "", 0);

        public Info {
            ops = List.copyOf(ops);
        }

        public Info withLayout(String l) {
            return new Info(node, ops, template, l, flops);
        }
    }
}
