package dev.visiontower.cli;

import dev.visiontower.api.checkpoint.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.visiontower.cli.CliTest.assertCleanError;
import static dev.visiontower.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code embed} takes folders, lists and standard input, and says which row is which image. */
class EmbedInputsTest {
    @TempDir
    Path tmp;

    @Test
    void foldersListsAndStandardInput() throws Exception {
        Path data = tmp.resolve("pics");
        assertEquals(0, run("make-shapes", "--output", data.toString(), "--count", "7", "--heldout", "3").code());
        Path out = tmp.resolve("e.npy");
        CliTest.Result r = run("embed", data.toString(), "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(10, Npy.read(out).dim(0), "every PNG below the folder, captions.jsonl and labels.json skipped");
        List<String> rows = Files.readAllLines(tmp.resolve("e.npy.paths.txt"));
        assertEquals(10, rows.size());
        assertEquals(rows.stream().sorted().toList(), rows, "sorted by path");
        assertTrue(rows.get(0).endsWith("heldout/000000.png"), rows.get(0));

        // @LIST: one path per line
        Path list = tmp.resolve("list.txt");
        Files.write(list, rows.subList(0, 4));
        r = run("embed", "@" + list, "--output", tmp.resolve("l.npy").toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(4, Npy.read(tmp.resolve("l.npy")).dim(0));

        // -: paths on standard input
        InputStream old = System.in;
        System.setIn(new ByteArrayInputStream((rows.get(1) + "\n\n" + rows.get(2) + "\n")
                .getBytes(StandardCharsets.UTF_8)));
        try {
            r = run("embed", "-", "--output", tmp.resolve("s.npy").toString());
        } finally {
            System.setIn(old);
        }
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of(rows.get(1), rows.get(2)), Files.readAllLines(tmp.resolve("s.npy.paths.txt")));

        // classify takes the same inputs
        r = run("classify", data.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        assertEquals(10, new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out()).path("results").size(),
                r.out());

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertCleanError(run("embed", empty.toString(), "--output", out.toString()), "no image files");
    }
}
