package dev.kiln.irhigh;

import java.util.List;
import java.util.Map;

/**
 * One operator application. Inputs and outputs are value names; an empty name stands for an
 * omitted optional input or output (as in ONNX). {@code opset} is the model's opset for the
 * node's domain; {@code domain} is "" for the default ONNX domain.
 */
public record Node(String name, String op, String domain, List<String> inputs, List<String> outputs,
                   Map<String, Attr> attrs, int opset) {

    public Node {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attrs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(attrs));
    }

    /** Input i's name, or "" if the node has fewer inputs. */
    public String input(int i) {
        return i < inputs.size() ? inputs.get(i) : "";
    }

    public boolean hasInput(int i) {
        return !input(i).isEmpty();
    }

    public String output(int i) {
        return outputs.get(i);
    }

    public boolean has(String attr) {
        return attrs.containsKey(attr);
    }

    public long attrInt(String attr, long dflt) {
        return switch (attrs.get(attr)) {
            case null -> dflt;
            case Attr.Int(long v) -> v;
            case Attr.Float(float v) -> (long) v;
            default -> throw badAttr(attr, "an int");
        };
    }

    public float attrFloat(String attr, float dflt) {
        return switch (attrs.get(attr)) {
            case null -> dflt;
            case Attr.Float(float v) -> v;
            case Attr.Int(long v) -> v;
            default -> throw badAttr(attr, "a float");
        };
    }

    public String attrString(String attr, String dflt) {
        return switch (attrs.get(attr)) {
            case null -> dflt;
            case Attr.Str(String v) -> v;
            default -> throw badAttr(attr, "a string");
        };
    }

    /** An ints attribute, or {@code dflt} (may be null) when absent. */
    public long[] attrInts(String attr, long[] dflt) {
        return switch (attrs.get(attr)) {
            case null -> dflt;
            case Attr.Ints(long[] v) -> v.clone();
            case Attr.Int(long v) -> new long[] {v};
            default -> throw badAttr(attr, "a list of ints");
        };
    }

    /** A strings attribute, or {@code dflt} (may be null) when absent. */
    public List<String> attrStrings(String attr, List<String> dflt) {
        return switch (attrs.get(attr)) {
            case null -> dflt;
            case Attr.Strs(List<String> v) -> v;
            case Attr.Str(String v) -> List.of(v);
            default -> throw badAttr(attr, "a list of strings");
        };
    }

    public float[] attrFloats(String attr, float[] dflt) {
        return switch (attrs.get(attr)) {
            case null -> dflt;
            case Attr.Floats(float[] v) -> v.clone();
            default -> throw badAttr(attr, "a list of floats");
        };
    }

    public Tensor attrTensor(String attr) {
        return switch (attrs.get(attr)) {
            case null -> null;
            case Attr.TensorAttr(Tensor v) -> v;
            default -> throw badAttr(attr, "a tensor");
        };
    }

    /** "node 'conv1' (Conv, opset 13)": how errors name a node. */
    public String describe() {
        return "node '" + name + "' (" + (domain.isEmpty() ? "" : domain + ".") + op + ", opset " + opset + ")";
    }

    /** A user-facing error about this node. */
    public KilnException error(String what) {
        return new KilnException(describe() + ": " + what);
    }

    private KilnException badAttr(String attr, String expected) {
        return error("attribute '" + attr + "' should be " + expected + " but is " + attrs.get(attr).getClass().getSimpleName());
    }
}
