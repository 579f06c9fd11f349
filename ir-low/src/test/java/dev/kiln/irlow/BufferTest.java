package dev.kiln.irlow;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class BufferTest {
    @Test
    void threeArgumentBufferIsTheGlobalOne() {
        Buffer plain = new Buffer("A", ScalarType.F32, 16), global = new Buffer("A", ScalarType.F32, 16, MemoryScope.GLOBAL);
        assertEquals(MemoryScope.GLOBAL, plain.scope());
        assertEquals(global, plain);
        assertEquals(global.hashCode(), plain.hashCode());
    }

    @Test
    void scopeTakesPartInEquality() {
        Buffer global = new Buffer("A", ScalarType.F32, 16), shared = global.withScope(MemoryScope.SHARED);
        assertEquals(new Buffer("A", ScalarType.F32, 16, MemoryScope.SHARED), shared);
        assertNotEquals(global, shared);
        assertEquals(global, shared.withScope(MemoryScope.GLOBAL));
        assertThrows(NullPointerException.class, () -> new Buffer("A", ScalarType.F32, 16, null));
    }
}
