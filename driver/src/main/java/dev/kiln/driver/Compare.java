package dev.kiln.driver;

import dev.kiln.irhigh.Tensor;

/** Elementwise comparison of an actual tensor with an expected one: |a-b| <= atol + rtol*|b|. */
public record Compare(boolean ok, double maxAbsError, double maxRelError, int mismatches, int firstBadIndex, String detail) {

    public static Compare of(Tensor actual, Tensor expected, double atol, double rtol) {
        if (actual.dtype() != expected.dtype() || !actual.shape().equals(expected.shape()))
            return new Compare(false, Double.NaN, Double.NaN, -1, -1, "got " + actual.dtype().numpyName + actual.shape()
                    + ", expected " + expected.dtype().numpyName + expected.shape());
        double maxAbs = 0, maxRel = 0;
        int bad = 0, first = -1;
        boolean exact = !expected.dtype().isFloat();
        for (int i = 0; i < expected.size(); i++) {
            double a = actual.getDouble(i), b = expected.getDouble(i);
            boolean same = exact ? actual.getLong(i) == expected.getLong(i)
                    : (Double.isNaN(a) && Double.isNaN(b)) || a == b || Math.abs(a - b) <= atol + rtol * Math.abs(b);
            double abs = Math.abs(a - b);
            if (!Double.isNaN(abs)) {
                maxAbs = Math.max(maxAbs, abs);
                if (b != 0) maxRel = Math.max(maxRel, abs / Math.abs(b));
            }
            if (!same) {
                bad++;
                if (first < 0) first = i;
            }
        }
        String detail = bad == 0 ? "match" : bad + " of " + expected.size() + " elements differ; first at " + first
                + ": got " + actual.getDouble(first) + ", expected " + expected.getDouble(first);
        return new Compare(bad == 0, maxAbs, maxRel, bad, first, detail);
    }
}
