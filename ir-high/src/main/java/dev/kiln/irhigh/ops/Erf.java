package dev.kiln.irhigh.ops;

/** The error function in double precision (Java's Math has none). */
public final class Erf {
    private Erf() {}

    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;
    private static final double ONE_OVER_SQRT_PI = 0.5641895835477563;

    /** erf(x), accurate to a few ulps: a series without cancellation near 0, a continued fraction in the tails. */
    public static double erf(double x) {
        if (Double.isNaN(x)) return x;
        double a = Math.abs(x);
        double r;
        if (a < 2.5) {
            // erf(x) = 2/sqrt(pi) exp(-x^2) sum_n (2x^2)^n x / (1*3*...*(2n+1)): every term is positive.
            double term = a, sum = a, x2 = 2 * a * a;
            for (int n = 1; term > 1e-17 * sum; n++) {
                term *= x2 / (2 * n + 1);
                sum += term;
            }
            r = TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
        } else if (a < 6.5) {
            r = 1 - erfcTail(a);
        } else {
            r = 1; // erfc(6.5) < 1e-19: 1 is the nearest double
        }
        return x < 0 ? -r : r;
    }

    /**
     * erfc(x) for x >= 2 from its continued fraction
     * exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), by the modified Lentz method.
     */
    private static double erfcTail(double x) {
        double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int j = 1; j < 500; j++) {
            double aj = j * 0.5;
            d = x + aj * d;
            d = 1 / (d == 0 ? tiny : d);
            c = x + aj / (c == 0 ? tiny : c);
            double delta = c * d;
            f *= delta;
            if (Math.abs(delta - 1) < 1e-16) break;
        }
        return ONE_OVER_SQRT_PI * Math.exp(-x * x) / f;
    }
}
