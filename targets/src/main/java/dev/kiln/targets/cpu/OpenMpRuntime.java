package dev.kiln.targets.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;

/**
 * Keeps the OpenMP runtime (libgomp) loaded for the life of the process. Kiln libraries run
 * their parallel loops on libgomp's worker threads, which stay alive after a parallel region;
 * if closing the last Kiln library also unloaded libgomp, those idle workers would wake up in
 * unmapped code and crash the process.
 */
final class OpenMpRuntime {
    private static volatile boolean pinned;

    private OpenMpRuntime() {}

    static void pin() {
        if (pinned) return;
        synchronized (OpenMpRuntime.class) {
            if (pinned) return;
            try {
                SymbolLookup.libraryLookup("libgomp.so.1", Arena.global());
            } catch (IllegalArgumentException e) {
                // Not installed: a library that needs it fails to load with the loader's own message.
            }
            pinned = true;
        }
    }
}
