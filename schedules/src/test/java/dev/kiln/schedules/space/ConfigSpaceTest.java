package dev.kiln.schedules.space;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The config-space API: numbering of points, defaults, checking, and what Knobs records. */
class ConfigSpaceTest {
    private static final ConfigSpace SPACE = new ConfigSpace(List.of(
            Knob.of("0.tile", List.of(1L, 2L, 4L), 4),
            Knob.categorical("0.order", List.of("ij", "ji"), 0),
            Knob.of("1.vector", List.of(8L, 16L, 32L, 64L), 16)));

    @Test
    void pointsAreNumberedInMixedRadixWithTheLastKnobFastest() {
        assertEquals(3 * 2 * 4, SPACE.size());
        assertEquals(Config.parse("0.tile=1,0.order=0,1.vector=8"), SPACE.get(0));
        assertEquals(Config.parse("0.tile=1,0.order=0,1.vector=16"), SPACE.get(1));
        assertEquals(Config.parse("0.tile=1,0.order=1,1.vector=8"), SPACE.get(4));
        assertEquals(Config.parse("0.tile=4,0.order=1,1.vector=64"), SPACE.get(23));
        Set<Config> all = new HashSet<>();
        for (long i = 0; i < SPACE.size(); i++) {
            assertEquals(i, SPACE.indexOf(SPACE.get(i)));
            all.add(SPACE.get(i));
        }
        assertEquals(SPACE.size(), all.size());
        assertThrows(IndexOutOfBoundsException.class, () -> SPACE.get(24));
    }

    @Test
    void defaultsAreEachKnobsDefault() {
        assertEquals(Config.parse("0.tile=4,0.order=0,1.vector=16"), SPACE.defaults());
        assertEquals(ConfigSpace.EMPTY.defaults(), Config.parse(""));
        assertEquals(1, ConfigSpace.EMPTY.size());
    }

    @Test
    void randomAndMutatedPointsStayInTheSpace() {
        Random rng = new Random(1);
        for (int i = 0; i < 50; i++) {
            Config c = SPACE.random(rng);
            SPACE.check(c);
            Config m = SPACE.mutate(c, rng);
            SPACE.check(m);
            int changed = 0;
            for (Knob k : SPACE.knobs()) if (c.get(k.name()) != m.get(k.name())) changed++;
            assertEquals(1, changed, c + " -> " + m);
        }
    }

    @Test
    void checkNamesTheOffendingKnob() {
        var e = assertThrows(IllegalArgumentException.class, () -> SPACE.check(SPACE.defaults().with("0.tile", 3)));
        assertTrue(e.getMessage().contains("0.tile") && e.getMessage().contains("3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SPACE.check(Config.parse("0.tile=4,0.order=0")));
        assertTrue(e.getMessage().contains("1.vector"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SPACE.check(SPACE.defaults().with("2.unroll", 1)));
        assertTrue(e.getMessage().contains("2.unroll"), e.getMessage());
    }

    @Test
    void configTextRoundTripsAndBadTextIsRefused() {
        Config c = SPACE.get(17);
        assertEquals(c, Config.parse(c.toString()));
        assertThrows(IllegalArgumentException.class, () -> Config.parse("0.tile"));
        assertThrows(IllegalArgumentException.class, () -> Config.parse("0.tile=x"));
        assertThrows(IllegalArgumentException.class, () -> Config.parse("a=1,a=2"));
    }

    @Test
    void badKnobsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Knob.of("a b", List.of(1L), 1));
        assertThrows(IllegalArgumentException.class, () -> Knob.of("a", List.of(1L, 2L), 3));
        assertThrows(IllegalArgumentException.class, () -> Knob.of("a", List.of(1L, 1L), 1));
        assertThrows(IllegalArgumentException.class, () -> Knob.of("a", List.of(), 1));
        assertThrows(IllegalArgumentException.class, () -> new ConfigSpace(List.of(Knob.of("a", List.of(1L), 1), Knob.of("a", List.of(2L), 2))));
        assertEquals("ji", SPACE.knob("0.order").show(1));
    }

    /** A toy template: a tile knob, then a flag in scope "1". */
    private static long template(Knobs knobs) {
        long tile = knobs.choose("tile", List.of(1L, 2L, 4L), 2);
        boolean unroll = knobs.scope("1").flag("unroll", true);
        return tile * 10 + (unroll ? 1 : 0);
    }

    @Test
    void knobsDeclareTheSpaceAndReplayAConfig() {
        Knobs d = Knobs.defaults();
        assertEquals(21, template(d.scope("0")));
        assertEquals(List.of("0.tile", "0.1.unroll"), d.space().knobs().stream().map(Knob::name).toList());
        assertEquals(d.space().defaults(), d.config());

        Config c = d.space().defaults().with("0.tile", 4).with("0.1.unroll", 0);
        Knobs k = Knobs.of(c);
        assertEquals(40, template(k.scope("0")));
        assertEquals(c, k.config());
        assertEquals(d.space(), k.space());
    }

    @Test
    void knobsRefuseAValueOutsideTheKnobAMissingOneAndADoubleDeclaration() {
        var e = assertThrows(IllegalArgumentException.class, () -> template(Knobs.of(Config.parse("tile=3,1.unroll=1"))));
        assertTrue(e.getMessage().contains("tile") && e.getMessage().contains("3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> template(Knobs.of(Config.parse("tile=2"))));
        assertTrue(e.getMessage().contains("1.unroll"), e.getMessage());
        Knobs twice = Knobs.defaults();
        template(twice);
        assertThrows(IllegalStateException.class, () -> template(twice));
        assertNotEquals(Knobs.defaults().space(), twice.space());
    }
}
