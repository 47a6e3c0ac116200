package dev.visiontower.api;

import dev.visiontower.api.spi.Availability;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.BackendProvider;
import dev.visiontower.api.spi.Capability;
import dev.visiontower.api.spi.OptionSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptionSpecTest {
    /** A provider that only declares options (option checking never opens a backend). */
    private static final BackendProvider DECLARING = new BackendProvider() {
        @Override
        public String name() {
            return "demo";
        }

        @Override
        public int priority() {
            return 0;
        }

        @Override
        public Set<Capability> capabilities() {
            return Set.of();
        }

        @Override
        public Availability probe() {
            throw new AssertionError("not called");
        }

        @Override
        public List<OptionSpec> options() {
            return List.of(OptionSpec.bool("fast", false, "go fast"),
                    OptionSpec.choice("mode", "a", "pick one", "a", "b"),
                    OptionSpec.list("parts", "all", "some parts", "x", "y"));
        }

        @Override
        public Backend open(BackendOptions options) {
            throw new AssertionError("not called");
        }
    };

    @Test
    void valuesAreCheckedAndNormalised() {
        assertEquals(Map.of("fast", "true", "mode", "b", "parts", "y,x"), Backends.checkedOptions(DECLARING,
                Map.of("fast", " TRUE ", "demo.mode", "B", "parts", "y, x")));
        assertEquals(Map.of("parts", "none"), Backends.checkedOptions(DECLARING, Map.of("parts", "None")));
    }

    @Test
    void unknownKeysAndValuesFailNamingWhatIsAccepted() {
        String m = assertThrows(InvalidInputException.class, () -> Backends.checkedOptions(DECLARING,
                Map.of("fats", "true"))).getMessage();
        assertTrue(m.contains("backend 'demo' has no option 'fats', expected one of [fast=true|false, mode=a|b, "
                + "parts=all|none|x,y]"), m);
        m = assertThrows(InvalidInputException.class, () -> Backends.checkedOptions(DECLARING,
                Map.of("mode", "c"))).getMessage();
        assertTrue(m.contains("option mode=c is not allowed, expected one of [a, b]"), m);
        m = assertThrows(InvalidInputException.class, () -> Backends.checkedOptions(DECLARING,
                Map.of("parts", "x,z"))).getMessage();
        assertTrue(m.contains("unknown item 'z'"), m);
        m = assertThrows(InvalidInputException.class, () -> Backends.checkedOptions(DECLARING,
                Map.of("fast", "yes"))).getMessage();
        assertTrue(m.contains("expected one of [true, false]"), m);
    }
}
