package dev.kiln.autotune.db;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every earlier schema version of an SQLite tuning database opens in this Kiln with its records
 * whole ({@link EarlierSchemas#assertMigrates}); PostgresTuningDatabaseTest runs the same on PostgreSQL.
 */
class SchemaMigrationTest {
    @TempDir
    Path dir;

    static IntStream versions() {
        return EarlierSchemas.versions();
    }

    @ParameterizedTest(name = "from version {0}")
    @MethodSource("versions")
    void anEarlierSqliteDatabaseIsMigratedKeepingEveryRecord(int version) throws Exception {
        EarlierSchemas.assertMigrates(version, "jdbc:sqlite:" + dir.resolve("v" + version + ".db"),
                "jdbc:sqlite:" + dir.resolve("new.db"));
    }

    @Test
    void everyEarlierVersionHasAFixture() {
        for (int v = 1; v < TuningDatabase.SCHEMA_VERSION; v++)
            assertTrue(EarlierSchemas.VERSIONS.contains(v), "schema version " + v + " has no fixture in EarlierSchemas: "
                    + "add the tables and rows that version wrote, so that the migration from it is tested");
    }
}
