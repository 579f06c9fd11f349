package dev.kiln.tests.conformance;

/**
 * What happened to one case. {@code op} is the ONNX op the case tests (for node/ cases) or
 * the case name's op list; {@code reason} says in a few words why a case did not pass;
 * {@code shapeInputsBound} marks cases whose shape-deciding inputs were compiled in as
 * constants from the test data.
 */
public record CaseResult(String id, Status status, String op, boolean shapeInputsBound, String reason) {

    public enum Status {
        /** Compiled, ran, and every output matched. */
        PASSED,
        /** Wrong outputs, a crash, or an internal compiler error. */
        FAILED,
        /** Kiln refused the model with an error for people (op, attribute or dtype it does not handle). */
        UNSUPPORTED,
        /** Outside what Kiln means to compile: training, sequences, strings, optional values, unseeded randomness. */
        OUT_OF_SCOPE
    }

    public String suite() {
        return id.substring(0, id.indexOf('/'));
    }

    public String name() {
        return id.substring(id.indexOf('/') + 1);
    }

    /** One line of the worker's journal (tab-separated; the reason has no tabs or newlines). */
    public String toLine() {
        return String.join("\t", id, status.name(), op, shapeInputsBound ? "bound" : "-", clean(reason));
    }

    public static CaseResult parse(String line) {
        String[] f = line.split("\t", 5);
        return new CaseResult(f[0], Status.valueOf(f[1]), f[2], f[3].equals("bound"), f.length > 4 ? f[4] : "");
    }

    static String clean(String s) {
        return s == null ? "" : s.replaceAll("[\\t\\r\\n]+", " ").strip();
    }
}
