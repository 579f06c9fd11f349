package dev.kiln.irhigh.ops;

import dev.kiln.irhigh.DType;
import dev.kiln.irhigh.Node;
import dev.kiln.irhigh.Shape;
import dev.kiln.irhigh.Tensor;
import dev.kiln.irhigh.Value;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * NonMaxSuppression as ONNX Runtime computes it: per batch and class, the boxes whose score
 * beats {@code score_threshold} (all of them when it is absent), best score first (ties: lower
 * box index first), each kept unless its IoU with a box already kept in its class exceeds
 * {@code iou_threshold}, at most {@code max_output_boxes_per_class} per class (absent or
 * negative: none). IoU in fp32 with ONNX Runtime's edge cases (a box of zero area suppresses
 * nothing). Output: int64 {@code [selected, 3]} rows (batch, class, box), bounded by
 * {@code batches x classes x min(max per class, boxes)} (see {@link DataDependent}).
 */
final class NonMaxSuppression implements OpDef {
    @Override
    public List<Value> infer(Node n, List<Value> inputs, List<Tensor> consts) {
        Ops.requireInputs(n, 2, 5);
        Ops.requireOutputs(n, 1, 2);
        Value boxes = Ops.required(n, inputs, 0, "boxes"), scores = Ops.required(n, inputs, 1, "scores");
        Ops.requireRank(n, boxes, 0, "boxes", 3);
        Ops.requireRank(n, scores, 1, "scores", 3);
        if (boxes.dtype() != DType.FLOAT32 || scores.dtype() != DType.FLOAT32)
            throw n.error("boxes and scores must be float32, got " + Ops.type(boxes) + " and " + Ops.type(scores));
        int batches = boxes.shape().dim(0), count = boxes.shape().dim(1);
        if (boxes.shape().dim(2) != 4) throw n.error(Ops.in(n, 0, "boxes") + " must be [batches, boxes, 4], got " + Ops.type(boxes));
        if (scores.shape().dim(0) != batches || scores.shape().dim(2) != count)
            throw n.error(Ops.in(n, 1, "scores") + " must be [" + batches + ", classes, " + count + "] for boxes " + Ops.type(boxes)
                    + ", got " + Ops.type(scores));
        checkScalar(n, inputs, 2, "max_output_boxes_per_class", DType.INT64);
        checkScalar(n, inputs, 3, "iou_threshold", DType.FLOAT32);
        checkScalar(n, inputs, 4, "score_threshold", DType.FLOAT32);
        long center = n.attrInt("center_point_box", 0);
        if (center != 0 && center != 1) throw n.error("attribute center_point_box must be 0 or 1, got " + center);
        long perClass = count;
        Tensor max = Ops.constant(consts, 2);
        if (Ops.optional(inputs, 2) == null) perClass = 0;
        else if (max != null) perClass = Math.clamp(max.getLong(0), 0, count);
        long bound = (long) batches * scores.shape().dim(1) * perClass;
        if (allConstant(inputs, consts)) bound = select(n, consts).size();
        return DataDependent.withShapeOutputs(n, List.of(Ops.out(n, 0, DType.INT64, Shape.of(bound, 3))));
    }

    private static void checkScalar(Node n, List<Value> inputs, int i, String role, DType dtype) {
        Value v = Ops.optional(inputs, i);
        if (v == null) return;
        if (v.dtype() != dtype || v.shape().numel() != 1)
            throw n.error(Ops.in(n, i, role) + " must be one " + dtype.numpyName + ", got " + Ops.type(v));
    }

    private static boolean allConstant(List<Value> inputs, List<Tensor> consts) {
        for (int i = 0; i < inputs.size(); i++) if (inputs.get(i) != null && Ops.constant(consts, i) == null) return false;
        return true;
    }

    /** The selected (batch, class, box) triples, in output order. */
    private static List<long[]> select(Node n, List<Tensor> in) {
        Tensor boxes = in.get(0), scores = in.get(1);
        Tensor maxT = in.size() > 2 ? in.get(2) : null, iouT = in.size() > 3 ? in.get(3) : null;
        Tensor scoreT = in.size() > 4 ? in.get(4) : null;
        long max = maxT == null ? 0 : Math.max(maxT.getLong(0), 0);
        float iou = iouT == null ? 0 : (float) iouT.getDouble(0);
        if (iou < 0 || iou > 1) throw n.error("iou_threshold must lie in [0, 1], got " + iou);
        boolean center = n.attrInt("center_point_box", 0) == 1;
        int batches = boxes.shape().dim(0), count = boxes.shape().dim(1), classes = scores.shape().dim(1);
        List<long[]> out = new ArrayList<>();
        for (int b = 0; b < batches; b++)
            for (int c = 0; c < classes; c++) {
                int base = (b * classes + c) * count;
                List<Integer> order = new ArrayList<>();
                for (int i = 0; i < count; i++)
                    if (scoreT == null || (float) scores.getDouble(base + i) > (float) scoreT.getDouble(0)) order.add(i);
                order.sort(Comparator.comparingDouble((Integer i) -> -scores.getDouble(base + i)).thenComparingInt(i -> i));
                List<Integer> kept = new ArrayList<>();
                for (int i : order) {
                    if (kept.size() >= max) break;
                    boolean keep = true;
                    for (int k : kept) keep &= !suppresses(box(boxes, b, k, center), box(boxes, b, i, center), iou);
                    if (keep) {
                        kept.add(i);
                        out.add(new long[] {b, c, i});
                    }
                }
            }
        return out;
    }

    /** A box as {xmin, xmax, ymin, ymax} in fp32, from either format. */
    private static float[] box(Tensor boxes, int b, int i, boolean center) {
        int at = (b * boxes.shape().dim(1) + i) * 4;
        float c0 = (float) boxes.getDouble(at), c1 = (float) boxes.getDouble(at + 1), c2 = (float) boxes.getDouble(at + 2),
                c3 = (float) boxes.getDouble(at + 3);
        if (center) return new float[] {c0 - c2 / 2, c0 + c2 / 2, c1 - c3 / 2, c1 + c3 / 2};
        return new float[] {Math.min(c1, c3), Math.max(c1, c3), Math.min(c0, c2), Math.max(c0, c2)};
    }

    private static boolean suppresses(float[] p, float[] q, float threshold) {
        float x0 = Math.max(p[0], q[0]), x1 = Math.min(p[1], q[1]), y0 = Math.max(p[2], q[2]), y1 = Math.min(p[3], q[3]);
        if (x1 <= x0 || y1 <= y0) return false;
        float inter = (x1 - x0) * (y1 - y0);
        float a1 = (p[1] - p[0]) * (p[3] - p[2]), a2 = (q[1] - q[0]) * (q[3] - q[2]);
        float union = a1 + a2 - inter;
        if (inter <= 0 || a1 <= 0 || a2 <= 0 || union <= 0) return false;
        return inter / union > threshold;
    }

    @Override
    public List<Tensor> eval(Node n, List<Tensor> inputs) {
        List<long[]> sel = select(n, inputs);
        long[] out = new long[sel.size() * 3];
        for (int i = 0; i < sel.size(); i++) System.arraycopy(sel.get(i), 0, out, 3 * i, 3);
        return DataDependent.withShapes(n, List.of(Tensor.ofLongs(Shape.of(sel.size(), 3), out)));
    }
}
