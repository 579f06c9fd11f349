package dev.kiln.tests.conformance;

/** Turns compiler messages (written for people, often long) into the few words the report shows. */
final class Reasons {
    private Reasons() {}

    static final int MAX = 110;

    static String shorten(String message) {
        if (message == null) return "(no message)";
        String s = message.strip();
        // "node 'n' (Op, opset 13): what" -> "what"; the report's row already names the op.
        s = s.replaceFirst("^node '[^']*' \\([^)]*\\): ", "");
        s = s.replaceAll(" (of|in) model \\S+", "");
        s = s.replaceAll("\\S*/backend/test/data/\\S*", "<model>");
        for (String cut : new String[] {"; ", ": Kiln compiles"}) {
            int at = s.indexOf(cut);
            if (at > 0) s = s.substring(0, at);
        }
        s = CaseResult.clean(s);
        return s.length() > MAX ? s.substring(0, MAX - 3) + "..." : s;
    }

    static String ofThrowable(Throwable e) {
        StackTraceElement[] st = e.getStackTrace();
        String where = st.length > 0 ? " at " + st[0].getClassName().replaceAll(".*\\.", "") + "." + st[0].getMethodName() : "";
        return shorten(e.getClass().getSimpleName() + ": " + e.getMessage()) + where;
    }
}
