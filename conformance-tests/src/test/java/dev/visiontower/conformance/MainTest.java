package dev.visiontower.conformance;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The command's exit codes: a skipped backend is not a failure unless asked. */
class MainTest {
    @Test
    void skippedBackendFailsOnlyWithFailOnSkip() {
        assertEquals(0, new CommandLine(new Main()).execute("--backend", "no-such-backend"));
        assertEquals(1, new CommandLine(new Main()).execute("--backend", "no-such-backend", "--fail-on-skip"));
    }
}
