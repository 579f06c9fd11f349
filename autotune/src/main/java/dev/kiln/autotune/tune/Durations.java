package dev.kiln.autotune.tune;

import dev.kiln.irhigh.KilnException;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Time budgets as people write them: {@code 90s}, {@code 20m}, {@code 1h30m}, {@code 2h}. */
public final class Durations {
    private Durations() {}

    private static final Pattern FORM = Pattern.compile("(?:(\\d+)h)?(?:(\\d+)m)?(?:(\\d+)s)?");

    public static Duration parse(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(java.util.Locale.ROOT);
        Matcher m = FORM.matcher(t);
        if (t.isEmpty() || !m.matches())
            throw new KilnException("bad time budget '" + text + "': write it as hours, minutes and seconds, e.g. 90s, 20m, 1h30m");
        Duration d = Duration.ZERO;
        try {
            if (m.group(1) != null) d = d.plusHours(Long.parseLong(m.group(1)));
            if (m.group(2) != null) d = d.plusMinutes(Long.parseLong(m.group(2)));
            if (m.group(3) != null) d = d.plusSeconds(Long.parseLong(m.group(3)));
        } catch (NumberFormatException | ArithmeticException e) {
            throw new KilnException("bad time budget '" + text + "': the number is too large");
        }
        if (d.isZero()) throw new KilnException("bad time budget '" + text + "': it must be longer than zero");
        return d;
    }

    /** {@code 1h02m}, {@code 3m05s}, {@code 42s}. */
    public static String format(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s >= 3600) return String.format("%dh%02dm", s / 3600, s % 3600 / 60);
        if (s >= 60) return String.format("%dm%02ds", s / 60, s % 60);
        return s + "s";
    }
}
