package dev.kiln.driver;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.irhigh.KilnException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code --input-shape NAME=D1,D2,..}: the name is everything before the last '=', dimensions are positive, no name twice. */
class OptionsTest {
    @Test
    void parsesInputShapes() {
        var m = Options.inputShapes(List.of("x=1,3,224,224", "a=b=2"));
        assertArrayEquals(new long[] {1, 3, 224, 224}, m.get("x"));
        assertArrayEquals(new long[] {2}, m.get("a=b"));
        assertThrows(KilnException.class, () -> Options.inputShapes(List.of("x=1,0")));
        assertThrows(KilnException.class, () -> Options.inputShapes(List.of("x")));
        assertThrows(KilnException.class, () -> Options.inputShapes(List.of("x=1", "x=2")));
    }
}
