package dev.kiln.autotune.tune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.irhigh.KilnException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
    @Test
    void parsesHoursMinutesSeconds() {
        assertEquals(Duration.ofMinutes(20), Durations.parse("20m"));
        assertEquals(Duration.ofSeconds(90), Durations.parse("90s"));
        assertEquals(Duration.ofMinutes(90), Durations.parse("1h30m"));
        assertEquals("1h30m", Durations.format(Duration.ofMinutes(90)));
        assertEquals("3m05s", Durations.format(Duration.ofSeconds(185)));
    }

    @Test
    void badBudgetsSayHowToWriteThem() {
        for (String bad : new String[] {"", "20", "soon", "0m", "5 minutes"}) {
            KilnException e = assertThrows(KilnException.class, () -> Durations.parse(bad));
            assertTrue(e.getMessage().contains("bad time budget"), e.getMessage());
        }
    }
}
