package dev.visiontower.api;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Selection rules without any provider on the path (vision-api alone). */
class BackendsTest {
    @Test
    void noProviderGivesAnActionableError() {
        String m = assertThrows(BackendUnavailableException.class, () -> Backends.select(null)).getMessage();
        assertTrue(m.contains("no backend found"), m);
    }

    @Test
    void unknownNameListsTheChoices() {
        String m = assertThrows(BackendUnavailableException.class, () -> Backends.select("nosuch")).getMessage();
        assertTrue(m.contains("unknown backend 'nosuch'"), m);
    }

    @Test
    void propertyIsUsedWhenNoNameIsGiven() {
        System.setProperty(Backends.PROPERTY, "fromproperty");
        try {
            String m = assertThrows(BackendUnavailableException.class, () -> Backends.select(null)).getMessage();
            assertTrue(m.contains("'fromproperty'"), m);
            String explicit = assertThrows(BackendUnavailableException.class, () -> Backends.select("explicit"))
                    .getMessage();
            assertTrue(explicit.contains("'explicit'"), explicit);
        } finally {
            System.clearProperty(Backends.PROPERTY);
        }
    }
}
