package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.List;

/**
 * {@code kiln.Int8Conv(X, W, x_zero_point?, w_zero_point?)}: ConvInteger's int32
 * {@code conv(X - x_zp, W - w_zp)}, in the form {@code DecomposeQuantizedProducts} leaves for CPU
 * targets with the byte dot product: 2-D, group 1, W a constant (the kernel packs it at compile time)
 * whose every {@code W - w_zp} fits a signed byte, {@code w_zp} constant per tensor or per output
 * channel, {@code x_zp} per tensor (a run-time value is fine). Semantics, shapes, attributes and
 * reference are ConvInteger's.
 */
public final class Int8Conv implements OpDef {
    public static final String DOMAIN = "kiln", OP = "Int8Conv";

    static final Int8Conv INSTANCE = new Int8Conv();

    private Int8Conv() {}

    /** Whether {@code n} is such a node. */
    public static boolean is(Node n) {
        return n.domain().equals(DOMAIN) && n.op().equals(OP);
    }

    /**
     * The resolved geometry of a 2-D conv node of input shape {@code x} and weight shape {@code w}:
     * {@code {padTop, padLeft, padBottom, padRight, strideH, strideW, dilationH, dilationW, outH, outW}}
     * (auto_pad resolved as Conv resolves it).
     */
    public static int[] geometry(Node n, Shape x, Shape w) {
        Window[] win = Conv.windows(n, x, w);
        if (win.length != 2) throw n.error("Int8Conv is 2-D only, got " + win.length + " spatial axes");
        return new int[] {win[0].padBegin(), win[1].padBegin(), win[0].padEnd(), win[1].padEnd(), win[0].stride(), win[1].stride(),
                win[0].dilation(), win[1].dilation(), win[0].out(), win[1].out()};
    }

    @Override
    public List<Value> infer(Node node, List<Value> inputs, List<Tensor> constInputs) {
        return QuantizedProduct.CONV_INTEGER.infer(node, inputs, constInputs);
    }

    @Override
    public List<Tensor> eval(Node node, List<Tensor> inputs) {
        return QuantizedProduct.CONV_INTEGER.eval(node, inputs);
    }
}
