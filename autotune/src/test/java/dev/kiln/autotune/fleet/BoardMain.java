package dev.kiln.autotune.fleet;

/** A board in a JVM of its own, for tests that kill it: {@code BoardMain URL KEY TARGET NAME}. */
public final class BoardMain {
    private BoardMain() {}

    public static void main(String[] args) {
        Board.open(args[0], args[1], args[2], args[3], FleetSettings.fromEnvironment(), System.out).serve();
    }
}
