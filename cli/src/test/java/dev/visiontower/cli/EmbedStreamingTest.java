package dev.visiontower.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.checkpoint.Npy;
import dev.visiontower.api.checkpoint.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.visiontower.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code embed} over folders: results streamed batch by batch, an unreadable image stops the run (or is skipped with
 * {@code --skip-bad}) without a partial output, and an interrupted {@code .jsonl} run continues with {@code --resume}.
 */
class EmbedStreamingTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private Path shapes(String name, int count) {
        Path data = tmp.resolve(name);
        CliTest.Result r = run("make-shapes", "--output", data.toString(), "--count", Integer.toString(count),
                "--heldout", "0", "--seed", "5");
        assertEquals(0, r.code(), r.err());
        return data;
    }

    /** Image path -> embedding, from a .jsonl file, checking every image appears once. */
    private static Map<String, float[]> rows(Path jsonl) throws Exception {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(jsonl, StandardCharsets.UTF_8)) {
            JsonNode j = JSON.readTree(line);
            JsonNode e = j.get("embedding");
            float[] v = new float[e.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) e.get(i).asDouble();
            }
            assertTrue(out.put(j.get("image").asText(), v) == null, "twice in " + jsonl + ": " + j.get("image"));
        }
        return out;
    }

    private static void assertSameRows(Map<String, float[]> want, Map<String, float[]> got) {
        assertEquals(want.keySet(), got.keySet());
        for (String k : want.keySet()) {
            float[] a = want.get(k);
            float[] b = got.get(k);
            for (int i = 0; i < a.length; i++) {
                assertTrue(Math.abs(a[i] - b[i]) <= 1e-4 + 1e-4 * Math.abs(a[i]), k + "[" + i + "]: " + a[i] + " vs "
                        + b[i]);
            }
        }
    }

    private List<String> strays() throws Exception {
        try (var s = Files.list(tmp)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
        }
    }

    @Test
    void batchesStreamToTheSameResultAsOnePass() throws Exception {
        Path data = shapes("pics", 11);
        Path whole = tmp.resolve("whole.safetensors");
        Path streamed = tmp.resolve("streamed.safetensors");
        assertEquals(0, run("embed", data.toString(), "--output", whole.toString(), "--batch", "16").code());
        CliTest.Result r = run("embed", data.toString(), "--output", streamed.toString(), "--batch", "3",
                "--decode-threads", "2");
        assertEquals(0, r.code(), r.err());
        try (Safetensors a = Safetensors.open(whole); Safetensors b = Safetensors.open(streamed)) {
            assertEquals(a.names(), b.names());
            for (String n : a.names()) {
                HostTensor x = a.read(n);
                HostTensor y = b.read(n);
                assertArrayEquals(x.shape(), y.shape(), n);
                assertEquals(11, y.dim(0), n);
                float[] u = x.floats();
                float[] v = y.floats();
                for (int i = 0; i < u.length; i++) {
                    assertTrue(Math.abs(u[i] - v[i]) <= 1e-4 + 1e-4 * Math.abs(u[i]), n + "[" + i + "]");
                }
            }
        }
        Path npy = tmp.resolve("e.npy");
        Path jsonl = tmp.resolve("e.jsonl");
        assertEquals(0, run("embed", data.toString(), "--output", npy.toString(), "--batch", "4").code());
        assertEquals(0, run("embed", data.toString(), "--output", jsonl.toString(), "--batch", "4").code());
        List<String> paths = Files.readAllLines(tmp.resolve("e.npy.paths.txt"));
        Map<String, float[]> fromJsonl = rows(jsonl);
        assertEquals(paths, new ArrayList<>(fromJsonl.keySet()), "same rows, same order");
        float[] e = Npy.read(npy).floats();
        int d = e.length / 11;
        Map<String, float[]> fromNpy = new LinkedHashMap<>();
        for (int i = 0; i < 11; i++) {
            fromNpy.put(paths.get(i), java.util.Arrays.copyOfRange(e, i * d, (i + 1) * d));
        }
        assertSameRows(fromNpy, fromJsonl);
        assertTrue(strays().isEmpty(), "no temporary files left: " + strays());
    }

    @Test
    void anUnreadableImageStopsTheRunOrIsSkipped() throws Exception {
        Path data = shapes("pics", 5);
        List<Path> files;
        try (var s = Files.list(data.resolve("train"))) {
            files = s.filter(p -> p.toString().endsWith(".png")).sorted().toList();
        }
        Path bad = files.get(2);
        byte[] b = Files.readAllBytes(bad);
        Files.write(bad, java.util.Arrays.copyOf(b, b.length / 2));

        Path npy = tmp.resolve("e.npy");
        CliTest.Result r = run("embed", data.toString(), "--output", npy.toString(), "--batch", "2");
        CliTest.assertCleanError(r, bad.toString());
        assertTrue(r.err().contains("truncated PNG") && r.err().contains("nothing was written"), r.err());
        assertFalse(Files.exists(npy) || Files.exists(tmp.resolve("e.npy.paths.txt")), "no partial output");
        assertTrue(strays().isEmpty(), "no temporary files left: " + strays());

        Path jsonl = tmp.resolve("e.jsonl");
        r = run("embed", data.toString(), "--output", jsonl.toString(), "--batch", "2");
        CliTest.assertCleanError(r, bad.toString());
        assertFalse(Files.exists(jsonl), "no partial output under the output's name");
        assertEquals(2, Files.readAllLines(tmp.resolve("e.jsonl.partial")).size(), "the images before it, for --resume");

        r = run("embed", data.toString(), "--output", npy.toString(), "--batch", "2", "--skip-bad");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("skipped " + bad) && r.err().contains("truncated PNG"), r.err());
        assertEquals(4, Npy.read(npy).dim(0));
        List<String> rows = Files.readAllLines(tmp.resolve("e.npy.paths.txt"));
        assertEquals(4, rows.size());
        assertFalse(rows.contains(bad.toString()), rows.toString());
    }

    @Test
    void resumeContinuesACutFileWithoutRepeatingImages() throws Exception {
        Path data = shapes("pics", 9);
        Path full = tmp.resolve("full.jsonl");
        assertEquals(0, run("embed", data.toString(), "--output", full.toString(), "--batch", "4").code());
        List<String> lines = Files.readAllLines(full, StandardCharsets.UTF_8);
        assertEquals(9, lines.size());
        Path out = tmp.resolve("out.jsonl");
        // as a kill leaves it: three lines written, the fourth cut halfway
        Files.writeString(EmbedSink.partialFile(out), String.join("\n", lines.subList(0, 3)) + "\n"
                + lines.get(3).substring(0, lines.get(3).length() / 2), StandardCharsets.UTF_8);
        CliTest.Result r = run("embed", data.toString(), "--output", out.toString(), "--batch", "4", "--resume");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("resuming: 3 of 9 images"), r.err());
        assertSameRows(rows(full), rows(out));
        assertEquals(lines.subList(0, 3), Files.readAllLines(out).subList(0, 3), "finished lines kept as written");
        assertFalse(Files.exists(EmbedSink.partialFile(out)));

        // --resume on a finished file adds only what is new
        r = run("embed", data.toString(), "--output", out.toString(), "--resume");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("resuming: 9 of 9") && r.err().contains("wrote 0 embedding"), r.err());
        assertEquals(9, Files.readAllLines(out).size());
        CliTest.assertCleanError(run("embed", data.toString(), "--output", tmp.resolve("x.npy").toString(),
                "--resume"), "--resume continues .jsonl output");
    }

    private Process start(List<String> args) throws Exception {
        return CliTest.startChild(tmp.resolve("log.txt"), args);
    }

    @Test
    void killedRunsResumeToTheFullResult() throws Exception {
        Path data = shapes("pics", 600);
        Path full = tmp.resolve("full.jsonl");
        assertEquals(0, run("embed", data.toString(), "--output", full.toString(), "--batch", "8").code());
        Path out = tmp.resolve("out.jsonl");
        List<String> args = List.of("embed", data.toString(), "--output", out.toString(), "--batch", "8",
                "--resume");
        List<String> seen = new ArrayList<>();
        for (long delay : new long[] {1500, 2200, 2600}) {
            Process p = start(args);
            if (!p.waitFor(delay, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly(); // SIGKILL: no shutdown hook, no finally
                p.waitFor(30, TimeUnit.SECONDS);
            }
            Path partial = EmbedSink.partialFile(out);
            seen.add(delay + " ms -> " + (Files.exists(out) ? "finished"
                    : Files.exists(partial) ? Files.size(partial) + " bytes partial" : "nothing"));
        }
        Process p = start(args);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the last run finishes");
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("log.txt")));
        assertSameRows(rows(full), rows(out));
        System.out.println("embed kills: " + seen);
    }
}
