package dev.kiln.driver.tune;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.autotune.db.TuningDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The default database: {@code kiln compile} reads it when it exists and never creates it. */
class DatabasesTest {
    @Test
    void compileNeverCreatesTheDefaultDatabase(@TempDir Path home) throws Exception {
        String saved = System.getProperty("user.home");
        try {
            System.setProperty("user.home", home.toString());
            assertTrue(Databases.openDefaultIfPresent().isEmpty());
            assertFalse(Files.exists(home.resolve(".kiln")), "looking for the default database created ~/.kiln");
            try (TuningDatabase created = TuningDatabase.open(null)) {
                assertTrue(Files.exists(home.resolve(".kiln/tuning.db")));
            }
            var found = Databases.openDefaultIfPresent();
            assertTrue(found.isPresent());
            found.get().close();
        } finally {
            System.setProperty("user.home", saved);
        }
    }
}
