package dev.kiln.driver.tune;

import dev.kiln.autotune.fleet.Board;
import dev.kiln.autotune.fleet.FleetSettings;

/** {@code kiln runner --broker URL --key K [--target T]}: this machine as a board of the fleet, until killed. */
final class BoardCommand {
    private BoardCommand() {}

    static int serve(String broker, String key, String target) {
        Board board = Board.open(broker, key, target, FleetSettings.fromEnvironment(), System.out);
        Runtime.getRuntime().addShutdownHook(new Thread(board::close));
        board.serve();
        return 0;
    }
}
