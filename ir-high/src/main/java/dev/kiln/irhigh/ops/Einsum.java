package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Einsum as a general sum of products over named indices: the output element at the output
 * labels' values is the sum, over every value of the other labels, of the product of the inputs
 * read at their labels' values. A label repeated within one input reads its diagonal; "..."
 * stands for the leading dims (broadcast across inputs, right-aligned). Without "->" the output
 * is "..." followed by the labels used once, in alphabetical order.
 */
public final class Einsum implements OpDef {
    /**
     * The equation resolved against the inputs' shapes. Labels are numbered; {@code inputs[k][d]}
     * is the label of input k's dim d, {@code output[d]} the output's, {@code sizes[l]} label l's
     * extent, {@code summed} the labels that only inputs have.
     */
    public record Plan(int[][] inputs, int[] output, long[] sizes, int[] summed) {
        public long[] outputDims() {
            long[] d = new long[output.length];
            for (int i = 0; i < d.length; i++) d[i] = sizes[output[i]];
            return d;
        }
    }

    /** Parses and checks the node's equation against the input shapes. */
    public static Plan plan(Node n, List<Shape> shapes) {
        String eq = n.attrString("equation", "").replace(" ", "");
        int arrow = eq.indexOf("->");
        String lhs = arrow < 0 ? eq : eq.substring(0, arrow);
        String[] terms = lhs.split(",", -1);
        if (terms.length != shapes.size())
            throw n.error("equation '" + eq + "' has " + terms.length + " input terms for " + shapes.size() + " inputs");
        // Ellipsis dims get labels 0..E-1 (right-aligned across inputs); letters get 52 + their code.
        int ell = 0;
        for (int k = 0; k < terms.length; k++)
            if (terms[k].contains("...")) ell = Math.max(ell, shapes.get(k).rank() - (terms[k].length() - 3));
        int[][] ins = new int[terms.length][];
        long[] sizes = new long[52 + 128];
        java.util.Arrays.fill(sizes, -1);
        int[] uses = new int[sizes.length];
        for (int k = 0; k < terms.length; k++) {
            String t = terms[k];
            Shape s = shapes.get(k);
            List<Integer> labels = new ArrayList<>();
            int dots = t.indexOf("...");
            String letters = t.replace("...", "");
            int e = dots < 0 ? 0 : s.rank() - letters.length();
            if (letters.length() + e != s.rank() || e < 0)
                throw n.error("input term '" + t + "' does not match input " + k + " of shape " + s);
            for (int i = 0; i < t.length(); ) {
                if (t.startsWith("...", i)) {
                    for (int d = 0; d < e; d++) labels.add(ell - e + d);
                    i += 3;
                    continue;
                }
                char c = t.charAt(i++);
                if (!Character.isLetter(c) || c >= 128) throw n.error("equation '" + eq + "': '" + c + "' is not a label");
                labels.add(52 + c);
            }
            ins[k] = labels.stream().mapToInt(Integer::intValue).toArray();
            for (int d = 0; d < ins[k].length; d++) {
                int l = ins[k][d];
                long size = s.dim(d);
                if (sizes[l] < 0 || sizes[l] == 1) sizes[l] = size;
                else if (size != 1 && size != sizes[l])
                    throw n.error("equation '" + eq + "': label extents differ (" + sizes[l] + " and " + size + ") in input " + k);
                if (l >= 52) uses[l]++;
            }
        }
        List<Integer> out = new ArrayList<>();
        if (arrow >= 0) {
            String t = eq.substring(arrow + 2);
            for (int i = 0; i < t.length(); ) {
                if (t.startsWith("...", i)) {
                    for (int d = 0; d < ell; d++) out.add(d);
                    i += 3;
                    continue;
                }
                int l = 52 + t.charAt(i++);
                if (l >= sizes.length || sizes[l] < 0) throw n.error("equation '" + eq + "': output label '" + (char) (l - 52) + "' is in no input");
                if (out.contains(l)) throw n.error("equation '" + eq + "': output label '" + (char) (l - 52) + "' is repeated");
                out.add(l);
            }
        } else {
            for (int d = 0; d < ell; d++) out.add(d);
            TreeSet<Integer> once = new TreeSet<>();
            for (int l = 52; l < sizes.length; l++) if (uses[l] == 1) once.add(l);
            out.addAll(once);
        }
        List<Integer> summed = new ArrayList<>();
        for (int l = 0; l < sizes.length; l++) if (sizes[l] >= 0 && !out.contains(l)) summed.add(l);
        return new Plan(ins, out.stream().mapToInt(Integer::intValue).toArray(), sizes,
                summed.stream().mapToInt(Integer::intValue).toArray());
    }

    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 1, Integer.MAX_VALUE);
        Ops.requireOutputs(n, 1, 1);
        List<Shape> shapes = new ArrayList<>();
        for (int k = 0; k < inputs.size(); k++) {
            Value v = Ops.required(n, inputs, k, "Inputs");
            Ops.requireNumeric(n, v, k, "Inputs");
            Ops.requireSameDtype(n, inputs.get(0), 0, "Inputs", v, k, "Inputs");
            shapes.add(v.shape());
        }
        return List.of(Ops.out(n, 0, inputs.get(0).dtype(), Shape.of(plan(n, shapes).outputDims())));
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        Shape os = Ops.inferFrom(this, n, inputs).get(0).shape();
        List<Shape> shapes = inputs.stream().map(Tensor::shape).toList();
        Plan p = plan(n, shapes);
        boolean fl = inputs.get(0).dtype().isFloat();
        Tensor out = Tensor.zeros(inputs.get(0).dtype(), os);
        long[] val = new long[p.sizes().length];
        long inner = 1;
        for (int l : p.summed()) inner *= p.sizes()[l];
        for (int e = 0; e < out.size(); e++) {
            long rest = e;
            for (int d = p.output().length - 1; d >= 0; d--) {
                val[p.output()[d]] = rest % os.dim(d);
                rest /= os.dim(d);
            }
            double sd = 0;
            long sl = 0;
            for (long s = 0; s < inner; s++) {
                long r = s;
                for (int j = p.summed().length - 1; j >= 0; j--) {
                    int l = p.summed()[j];
                    val[l] = r % p.sizes()[l];
                    r /= p.sizes()[l];
                }
                double pd = 1;
                long pl = 1;
                for (int k = 0; k < inputs.size(); k++) {
                    Shape sh = shapes.get(k);
                    int at = 0;
                    for (int d = 0; d < sh.rank(); d++) at = at * sh.dim(d) + (sh.dim(d) == 1 ? 0 : (int) val[p.inputs()[k][d]]);
                    if (fl) pd *= inputs.get(k).getDouble(at);
                    else pl *= inputs.get(k).getLong(at);
                }
                sd += pd;
                sl += pl;
            }
            if (fl) out.setDouble(e, sd);
            else out.setLong(e, sl);
        }
        return List.of(out);
    }
}
