package dev.visiontower.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.checkpoint.Npy;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.image.ImageDecoding;
import dev.visiontower.api.image.ImageTransform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line as a user runs it: exit codes, outputs, numbers against the reference, error messages. */
class CliTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    /**
     * Starts the command line in a child JVM (same class path, {@code visiontower.home} set), its output and errors
     * going to {@code log}: for tests that kill or signal the process.
     */
    static Process startChild(Path log, List<String> args) throws IOException {
        return startChild(log, List.of(), args);
    }

    /** As {@link #startChild(Path, List)}, with options for the child JVM. */
    static Process startChild(Path log, List<String> jvmOptions, List<String> args) throws IOException {
        List<String> path = new java.util.ArrayList<>();
        for (String p : new String[] {System.getProperty("jdk.module.path"), System.getProperty("java.class.path")}) {
            if (p != null && !p.isEmpty()) {
                path.add(p);
            }
        }
        List<String> cmd = new java.util.ArrayList<>(List.of(Paths.get(System.getProperty("java.home"), "bin", "java")
                .toString()));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-Dvisiontower.home=" + root().toAbsolutePath(), "-cp",
                String.join(java.io.File.pathSeparator, path), Main.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    static Path root() {
        return Paths.get(System.getProperty("visiontower.home", ".."));
    }

    static Path golden(String c) {
        return root().resolve("testdata/golden").resolve(c);
    }

    @Test
    void backendsJsonListsLibtorchAvailable() throws IOException {
        Result r = run("backends", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode list = new ObjectMapper().readTree(r.out());
        assertTrue(list.isArray());
        JsonNode torch = null;
        for (JsonNode n : list) {
            if (n.path("name").asText().equals("libtorch")) {
                torch = n;
            }
        }
        assertTrue(torch != null, r.out());
        assertTrue(torch.path("available").asBoolean(), r.out());
        assertTrue(torch.path("devices").toString().contains("cpu"));
        assertTrue(torch.path("capabilities").toString().contains("inference"));
        assertTrue(torch.has("reason") && torch.has("priority"));
        Result table = run("backends");
        assertTrue(table.out().startsWith("NAME") && table.out().contains("libtorch  yes"), table.out());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "clip_vision, '', image_embeds, false",
        "clip_vision_interp, '', image_embeds, true",
        "openclip_clip, vision., image_features, false",
        "siglip_vision_interp, '', '', true",
        "siglip_full, vision., '', false",
        "internvit_6b, '', '', false",
        "internvl_projector, vision., vit_embeds, false",
    })
    void embedReproducesTheReference(String c, String prefix, String embedsKey, boolean interp) {
        Path out = tmp.resolve(c + ".safetensors");
        List<String> args = new ArrayList<>(List.of("embed", "--model", golden(c).toString(), "--pixels",
                golden(c).resolve("io.safetensors").toString(), "--output", out.toString(), "--batch", "1"));
        if (interp) {
            args.add("--interpolate-pos-encoding");
        }
        Result r = run(args.toArray(new String[0]));
        assertEquals(0, r.code(), r.err());
        try (Safetensors got = Safetensors.open(out); Safetensors ref = Safetensors.open(golden(c).resolve("io.safetensors"))) {
            List<String[]> pairs = new ArrayList<>();
            pairs.add(new String[] {"last_hidden_state", prefix + "last_hidden_state"});
            if (ref.contains(prefix + "pooler_output")) {
                pairs.add(new String[] {"pooler_output", prefix + "pooler_output"});
            }
            if (!embedsKey.isEmpty()) {
                pairs.add(new String[] {"image_embeds", embedsKey});
            }
            for (String[] pair : pairs) {
                Tolerance.Comparison cmp = Tolerance.FLOAT32.compare(got.read(pair[0]), ref.read(pair[1]));
                assertTrue(cmp.ok(), c + " " + pair[0] + ": " + cmp.message());
            }
        }
    }

    @Test
    void normalizedNpyAndJsonlOutputs() throws IOException {
        Path npy = tmp.resolve("e.npy");
        Path px = golden("clip_vision").resolve("io.safetensors");
        Result r = run("embed", "--model", golden("clip_vision").toString(), "--pixels", px.toString(), "--normalize",
                "--output", npy.toString());
        assertEquals(0, r.code(), r.err());
        HostTensor e = Npy.read(npy);
        assertArrayEquals(new long[] {2, 24}, e.shape());
        for (int row = 0; row < 2; row++) {
            double s = 0;
            for (int i = 0; i < 24; i++) {
                s += e.floats()[row * 24 + i] * e.floats()[row * 24 + i];
            }
            assertEquals(1.0, s, 1e-5);
        }
        Path jsonl = tmp.resolve("e.jsonl");
        Path img = golden("preprocess").resolve("img_shapes.png");
        r = run("embed", "--model", golden("clip_vision").toString(), img.toString(), img.toString(), "--output",
                jsonl.toString());
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(jsonl);
        assertEquals(2, lines.size());
        JsonNode first = new ObjectMapper().readTree(lines.get(0));
        assertEquals(img.toString(), first.path("image").asText());
        assertEquals(24, first.path("embedding").size());
        assertEquals(lines.get(0), lines.get(1), "same image, same embedding");
    }

    @Test
    void preprocessWritesTheModelsPixelValues() {
        Path out = tmp.resolve("px.safetensors");
        Path img = golden("preprocess").resolve("img_noise.jpg");
        Result r = run("preprocess", "--model", golden("clip_vision").toString(), img.toString(), "--output",
                out.toString());
        assertEquals(0, r.code(), r.err());
        try (Safetensors s = Safetensors.open(out)) {
            HostTensor px = s.read("pixel_values");
            assertArrayEquals(new long[] {1, 3, 32, 32}, px.shape());
            assertArrayEquals(ImageTransform.clip(32).apply(ImageDecoding.read(img)).floats(), px.floats());
        }
    }

    static void assertCleanError(Result r, String... fragments) {
        assertEquals(2, r.code(), r.err());
        String[] lines = r.err().strip().split("\n");
        assertTrue(Arrays.stream(lines).anyMatch(l -> l.startsWith("visiontower: error: ")), r.err());
        for (String f : fragments) {
            assertTrue(r.err().contains(f), "expected '" + f + "' in: " + r.err());
        }
        assertFalse(r.err().contains("\tat "), "no stack trace without --verbose: " + r.err());
    }

    @Test
    void badInputsGiveOneClearLineAndExitTwo() throws IOException {
        String out = tmp.resolve("o.safetensors").toString();
        String img = golden("preprocess").resolve("img_shapes.png").toString();
        assertCleanError(run("embed", "--model", tmp.resolve("missing").toString(), img, "--output", out),
                "missing", "no such model directory");
        assertCleanError(run("embed", "--backend", "nosuch", img, "--output", out), "unknown backend 'nosuch'",
                "libtorch");
        assertCleanError(run("embed", tmp.resolve("nope.png").toString(), "--output", out), "nope.png");

        Path notImage = tmp.resolve("text.png");
        Files.writeString(notImage, "this is not an image");
        assertCleanError(run("embed", notImage.toString(), "--output", out), "text.png");

        Path corrupt = tmp.resolve("corrupt");
        Files.createDirectories(corrupt);
        Files.copy(golden("clip_vision").resolve("config.json"), corrupt.resolve("config.json"));
        byte[] weights = Files.readAllBytes(golden("clip_vision").resolve("model.safetensors"));
        Files.write(corrupt.resolve("model.safetensors"), Arrays.copyOf(weights, weights.length / 2));
        assertCleanError(run("embed", "--model", corrupt.toString(), img, "--output", out), "model.safetensors",
                "outside");

        Path wrongShape = tmp.resolve("px.npy");
        Npy.write(wrongShape, HostTensor.ofFloats(new float[2 * 32 * 32], 2, 32, 32));
        assertCleanError(run("embed", "--pixels", wrongShape.toString(), "--output", out), "px.npy",
                "[B, 3, H, W]", "[2, 32, 32]");

        Path big = tmp.resolve("big.npy");
        Npy.write(big, HostTensor.ofFloats(new float[3 * 48 * 48], 1, 3, 48, 48));
        assertCleanError(run("embed", "--pixels", big.toString(), "--output", out), "48x48",
                "--interpolate-pos-encoding");

        assertCleanError(run("embed", img, "--output", tmp.resolve("o.txt").toString()), "o.txt",
                ".safetensors, .npy or .jsonl");
        assertCleanError(run("embed", "--output", out), "IMAGE");
    }

    @Test
    void backendOptionsAreCheckedAgainstWhatEachBackendDeclares() {
        String img = golden("preprocess").resolve("img_shapes.png").toString();
        String out = tmp.resolve("o.npy").toString();
        assertCleanError(run("embed", "--backend", "onnx", "--option", "fusion=none", img, "--output", out),
                "backend 'onnx' has no option 'fusion'", "fusions=all|none|attention,skip_layer_norm,bias_gelu",
                "spin=true|false");
        assertCleanError(run("embed", "--backend", "onnx", "--option", "fusions=attention,bogus", img, "--output",
                out), "option fusions: unknown item 'bogus'");
        assertCleanError(run("embed", "--backend", "libtorch", "--option", "attention=flash", img, "--output", out),
                "option attention=flash is not allowed, expected one of [sdpa, onednn]");
        // a key carrying another backend's name is left to that backend; one carrying this backend's name is its own
        Result r = run("embed", "--backend", "libtorch", "--option", "onnx.fusions=none", "--option",
                "libtorch.onednn=false", img, "--output", out);
        assertEquals(0, r.code(), r.err());
        r = run("backends");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("fusions") && r.out().contains("int8.activations"), r.out());
    }

    /** Sizes far beyond any model and non-finite weights are refused naming the file, before anything is built. */
    @Test
    void hostileConfigsAndNonFiniteWeightsAreCleanErrors() throws IOException {
        String img = golden("preprocess").resolve("img_shapes.png").toString();
        String out = tmp.resolve("o.npy").toString();
        Path huge = tmp.resolve("huge");
        Files.createDirectories(huge);
        Files.copy(golden("clip_vision").resolve("model.safetensors"), huge.resolve("model.safetensors"));
        com.fasterxml.jackson.databind.node.ObjectNode cfg = (com.fasterxml.jackson.databind.node.ObjectNode)
                new ObjectMapper().readTree(golden("clip_vision").resolve("config.json").toFile());
        com.fasterxml.jackson.databind.node.ObjectNode v = cfg.has("vision_config")
                ? (com.fasterxml.jackson.databind.node.ObjectNode) cfg.get("vision_config") : cfg;
        v.put("num_hidden_layers", 100_000_000);
        Files.writeString(huge.resolve("config.json"), cfg.toString());
        assertCleanError(run("embed", "--model", huge.toString(), img, "--output", out), "huge/config.json",
                "depth 100000000 is above 1024");

        Path nan = tmp.resolve("nan");
        Files.createDirectories(nan);
        Files.copy(golden("clip_vision").resolve("config.json"), nan.resolve("config.json"));
        java.util.Map<String, HostTensor> weights = new java.util.LinkedHashMap<>();
        try (Safetensors s = Safetensors.open(golden("clip_vision").resolve("model.safetensors"))) {
            for (String n : s.names()) {
                weights.put(n, s.read(n));
            }
        }
        String victim = weights.keySet().stream().filter(n -> n.endsWith("fc1.weight")).findFirst().orElseThrow();
        float[] f = weights.get(victim).floats().clone();
        f[3] = Float.NaN;
        weights.put(victim, HostTensor.ofFloats(f, weights.get(victim).shape()));
        dev.visiontower.api.checkpoint.SafetensorsWriter.write(nan.resolve("model.safetensors"), weights,
                java.util.Map.of());
        assertCleanError(run("embed", "--model", nan.toString(), img, "--output", out), "nan", victim, "NaN",
                "weights must be finite");
    }

    @Test
    void verboseShowsTheStackTrace() {
        Result r = run("embed", "--verbose", "--backend", "nosuch", "x.png", "--output", "o.npy");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("\tat "), r.err());
    }
}
