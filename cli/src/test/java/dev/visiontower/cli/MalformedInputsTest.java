package dev.visiontower.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.checkpoint.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A mutation campaign over the fixtures, run within a time budget ({@code -Dvisiontower.mutations.seconds}, default
 * 60): every file a user hands us (config.json, safetensors, tokenizer files, preprocessor config, labels, images,
 * .npy pixels) is damaged in structured ways (every JSON value replaced by zero, negative, huge, NaN, a string, null or
 * removed; safetensors header fields likewise) and byte by byte (truncations, flips, overwritten words), and the command
 * reading it must end with exit 0 and finite output, or exit 2 and one error line naming the file, within 30 s: never
 * an internal error, a stack trace, a hang or an escaped {@code Error}.
 */
class MalformedInputsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Object[] VALUES = {0, -1, 1, 2147483648L, 100000000, 1e300, Double.NaN, "NaN", "x", null, true,
        0.5, -1e9, List.of(), Map.of()};

    @TempDir
    Path tmp;

    /** A damaged copy of one file, and the command that reads it. */
    record Case(String what, Path file, byte[] bytes, List<String> args) {
    }

    private static byte[] json(JsonNode n) {
        return n.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Every value of a JSON document replaced by each of {@link #VALUES}, and every object key removed. */
    private static List<Map.Entry<String, byte[]>> jsonMutations(byte[] original, int maxLeaves) throws Exception {
        JsonNode root = JSON.readTree(original);
        List<Map.Entry<String, byte[]>> out = new ArrayList<>();
        List<List<Object>> paths = new ArrayList<>();
        collect(root, new ArrayList<>(), paths);
        Collections.shuffle(paths, new Random(paths.size()));
        for (List<Object> path : paths.subList(0, Math.min(maxLeaves, paths.size()))) {
            for (Object v : VALUES) {
                JsonNode copy = root.deepCopy();
                set(copy, path, JSON.valueToTree(v));
                out.add(Map.entry(path + "=" + v, json(copy)));
            }
            JsonNode copy = root.deepCopy();
            set(copy, path, null);
            out.add(Map.entry(path + " removed", json(copy)));
        }
        return out;
    }

    private static void collect(JsonNode n, List<Object> path, List<List<Object>> out) {
        if (!path.isEmpty()) {
            out.add(new ArrayList<>(path));
        }
        if (n.isObject()) {
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                path.add(k);
                collect(n.get(k), path, out);
                path.remove(path.size() - 1);
            }
        } else if (n.isArray()) {
            for (int i = 0; i < Math.min(n.size(), 3); i++) {
                path.add(i);
                collect(n.get(i), path, out);
                path.remove(path.size() - 1);
            }
        }
    }

    /** Sets (or, with {@code null}, removes) the value at {@code path}. */
    private static void set(JsonNode root, List<Object> path, JsonNode value) {
        JsonNode parent = root;
        for (int i = 0; i < path.size() - 1; i++) {
            Object p = path.get(i);
            parent = p instanceof String s ? parent.get(s) : parent.get((Integer) p);
        }
        Object last = path.get(path.size() - 1);
        if (parent instanceof ObjectNode o) {
            if (value == null) {
                o.remove((String) last);
            } else {
                o.set((String) last, value);
            }
        } else if (parent instanceof ArrayNode a) {
            if (value == null) {
                a.remove((Integer) last);
            } else {
                a.set((Integer) last, value);
            }
        }
    }

    /** Truncations, bit flips and overwritten 4-byte words at seeded positions (denser near the start). */
    private static List<Map.Entry<String, byte[]>> byteMutations(byte[] original, Random rnd, int count) {
        List<Map.Entry<String, byte[]>> out = new ArrayList<>();
        int n = original.length;
        for (int k = 0; k < count; k++) {
            int pos = k % 2 == 0 ? rnd.nextInt(Math.min(n, 512)) : rnd.nextInt(n);
            switch (k % 5) {
                case 0 -> out.add(Map.entry("cut at " + pos, java.util.Arrays.copyOf(original, pos)));
                case 1 -> {
                    byte[] b = original.clone();
                    b[pos] ^= (byte) (1 << rnd.nextInt(8));
                    out.add(Map.entry("bit flip at " + pos, b));
                }
                case 2 -> {
                    byte[] b = original.clone();
                    int v = new int[] {-1, Integer.MAX_VALUE, Integer.MIN_VALUE, 0, 0x7fc00000}[rnd.nextInt(5)];
                    for (int i = 0; i < 4 && pos + i < n; i++) {
                        b[pos + i] = (byte) (v >>> (8 * i));
                    }
                    out.add(Map.entry("word " + v + " at " + pos, b));
                }
                case 3 -> {
                    byte[] b = original.clone();
                    java.util.Arrays.fill(b, pos, Math.min(n, pos + 1 + rnd.nextInt(64)), (byte) rnd.nextInt(256));
                    out.add(Map.entry("bytes overwritten at " + pos, b));
                }
                default -> {
                    byte[] b = new byte[n + 1 + rnd.nextInt(16)];
                    System.arraycopy(original, 0, b, 0, n);
                    out.add(Map.entry((b.length - n) + " bytes after the end", b));
                }
            }
        }
        return out;
    }

    /** Mutations of a safetensors file's JSON header, the data left as it is. */
    private static List<Map.Entry<String, byte[]>> safetensorsHeaderMutations(byte[] original) throws Exception {
        long len = java.nio.ByteBuffer.wrap(original, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        byte[] header = java.util.Arrays.copyOfRange(original, 8, 8 + (int) len);
        byte[] data = java.util.Arrays.copyOfRange(original, 8 + (int) len, original.length);
        List<Map.Entry<String, byte[]>> out = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : jsonMutations(header, 12)) {
            byte[] h = e.getValue();
            byte[] b = new byte[8 + h.length + data.length];
            java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(h.length);
            System.arraycopy(h, 0, b, 8, h.length);
            System.arraycopy(data, 0, b, 8 + h.length, data.length);
            out.add(Map.entry(e.getKey(), b));
        }
        return out;
    }

    private void copyDir(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
    }

    private List<Case> cases() throws Exception {
        Random rnd = new Random(20261203);
        Path root = CliTest.root();
        List<Case> cases = new ArrayList<>();
        Path image = root.resolve("samples/images/03-red-square.png");
        Path out = tmp.resolve("out.npy");

        // the bundled CLIP model, read whole by classify (vision, text, tokenizer, preprocessing, labels)
        Path clip = tmp.resolve("clip");
        copyDir(root.resolve("samples/model"), clip);
        List<String> classify = List.of("classify", "--model", clip.toString(), image.toString());
        for (String f : new String[] {"config.json", "preprocessor_config.json", "labels.json", "vocab.json"}) {
            byte[] b = Files.readAllBytes(clip.resolve(f));
            for (Map.Entry<String, byte[]> mm : jsonMutations(b, 40)) {
                byte[] m = mm.getValue();
                cases.add(new Case(f + " (json)" + " " + mm.getKey(), clip.resolve(f), m, classify));
            }
            for (Map.Entry<String, byte[]> mm : byteMutations(b, rnd, 30)) {
                byte[] m = mm.getValue();
                cases.add(new Case(f + " (bytes)" + " " + mm.getKey(), clip.resolve(f), m, classify));
            }
        }
        byte[] merges = Files.readAllBytes(clip.resolve("merges.txt"));
        for (Map.Entry<String, byte[]> mm : byteMutations(merges, rnd, 40)) {
            byte[] m = mm.getValue();
            cases.add(new Case("merges.txt" + " " + mm.getKey(), clip.resolve("merges.txt"), m, classify));
        }
        byte[] weights = Files.readAllBytes(clip.resolve("model.safetensors"));
        for (Map.Entry<String, byte[]> mm : safetensorsHeaderMutations(weights)) {
            byte[] m = mm.getValue();
            cases.add(new Case("model.safetensors (header)" + " " + mm.getKey(), clip.resolve("model.safetensors"), m, classify));
        }
        for (Map.Entry<String, byte[]> mm : byteMutations(weights, rnd, 80)) {
            byte[] m = mm.getValue();
            cases.add(new Case("model.safetensors (bytes)" + " " + mm.getKey(), clip.resolve("model.safetensors"), m, classify));
        }

        // SigLIP: config and the SentencePiece model, read by embed-text
        Path siglip = tmp.resolve("siglip");
        copyDir(CliTest.golden("siglip_full"), siglip);
        Files.copy(CliTest.golden("siglip_tokenizer").resolve("spiece.model"), siglip.resolve("spiece.model"));
        List<String> text = List.of("embed-text", "--model", siglip.toString(), "--text", "a photo of a cat",
                "--output", out.toString());
        byte[] spiece = Files.readAllBytes(siglip.resolve("spiece.model"));
        for (Map.Entry<String, byte[]> mm : byteMutations(spiece, rnd, 80)) {
            byte[] m = mm.getValue();
            cases.add(new Case("spiece.model" + " " + mm.getKey(), siglip.resolve("spiece.model"), m, text));
        }
        for (Map.Entry<String, byte[]> mm : jsonMutations(Files.readAllBytes(siglip.resolve("config.json")), 40)) {
            byte[] m = mm.getValue();
            cases.add(new Case("siglip config.json" + " " + mm.getKey(), siglip.resolve("config.json"), m, text));
        }

        // open_clip: its config and tensor names
        Path openClip = tmp.resolve("openclip");
        copyDir(CliTest.golden("openclip_clip"), openClip);
        List<String> embedOpenClip = List.of("embed", "--model", openClip.toString(), image.toString(), "--output",
                out.toString());
        for (Map.Entry<String, byte[]> mm : jsonMutations(Files.readAllBytes(openClip.resolve("config.json")), 40)) {
            byte[] m = mm.getValue();
            cases.add(new Case("open_clip config.json" + " " + mm.getKey(), openClip.resolve("config.json"), m, embedOpenClip));
        }
        for (Map.Entry<String, byte[]> mm : safetensorsHeaderMutations(Files.readAllBytes(openClip.resolve("model.safetensors")))) {
            byte[] m = mm.getValue();
            cases.add(new Case("open_clip model.safetensors" + " " + mm.getKey(), openClip.resolve("model.safetensors"), m,
                    embedOpenClip));
        }

        // images and pixel tensors, embedded with the bundled model
        Path wild = root.resolve("testdata/wild-images");
        for (String f : new String[] {"jpeg-420.jpg", "png-rgba.png", "webp-lossy.webp", "webp-lossless.webp",
            "gif-animated.gif", "tiff-lzw.tif", "bmp-rgb.bmp", "jpeg-exif-6.jpg"}) {
            Path target = tmp.resolve("img-" + f);
            for (Map.Entry<String, byte[]> mm : byteMutations(Files.readAllBytes(wild.resolve(f)), rnd, 30)) {
                byte[] m = mm.getValue();
                cases.add(new Case(f + " " + mm.getKey(), target, m, List.of("embed", target.toString(), "--output", out.toString())));
            }
        }
        Path npy = tmp.resolve("pixels.npy");
        Npy.write(npy, dev.visiontower.api.image.ImageTransform.clip(64).apply(
                dev.visiontower.api.image.ImageDecoding.read(image)));
        byte[] pixels = Files.readAllBytes(npy);
        for (Map.Entry<String, byte[]> mm : byteMutations(pixels, rnd, 60)) {
            byte[] m = mm.getValue();
            cases.add(new Case("pixels.npy" + " " + mm.getKey(), npy, m, List.of("embed", "--pixels", npy.toString(), "--output",
                    out.toString())));
        }
        Collections.shuffle(cases, new Random(7));
        return cases;
    }

    @Test
    void everyDamagedInputEndsInAResultOrOneLineNamingTheFile() throws Exception {
        long budget = Long.getLong("visiontower.mutations.seconds", 60) * 1000;
        List<Case> cases = cases();
        List<String> failures = new ArrayList<>();
        int ok = 0;
        int refused = 0;
        int ran = 0;
        long start = System.currentTimeMillis();
        for (Case c : cases) {
            if (System.currentTimeMillis() - start > budget) {
                break;
            }
            byte[] original = Files.exists(c.file()) ? Files.readAllBytes(c.file()) : null;
            Files.write(c.file(), c.bytes());
            Path out = tmp.resolve("out.npy");
            Files.deleteIfExists(out);
            Supplier<CliTest.Result> run = () -> CliTest.run(c.args().toArray(String[]::new));
            CliTest.Result r;
            try {
                r = assertTimeoutPreemptively(Duration.ofSeconds(30), run::get, c.what() + ": hangs");
            } catch (Throwable t) {
                failures.add(c.what() + ": " + t);
                continue;
            } finally {
                if (original != null) {
                    Files.write(c.file(), original);
                }
            }
            ran++;
            String problem = judge(c, r, out);
            if (problem != null) {
                Path kept = tmp.resolve("finding-" + failures.size());
                failures.add(c.what() + ": " + problem + " (" + String.join(" ", c.args()) + ")");
                Files.write(kept, c.bytes());
            } else if (r.code() == 0) {
                ok++;
            } else {
                refused++;
            }
        }
        System.out.printf("malformed inputs: %d of %d cases in %.0f s: %d ran to a finite result, %d refused with "
                + "exit 2, %d failures%n", ran, cases.size(), (System.currentTimeMillis() - start) / 1000.0, ok,
                refused, failures.size());
        Path report = Path.of("target", "malformed-inputs-failures.txt");
        Files.createDirectories(report.getParent());
        Files.write(report, failures);
        assertTrue(failures.isEmpty(), failures.size() + " failures (all in " + report + "):\n" + String.join("\n",
                failures.subList(0, Math.min(40, failures.size()))));
    }

    /** What is wrong with the outcome, or {@code null}. */
    private static String judge(Case c, CliTest.Result r, Path out) {
        if (r.code() == 0) {
            if (r.out().contains("NaN") || r.out().contains("Infinity")) {
                return "exit 0 with non-finite output: " + r.out().strip().lines().findFirst().orElse("");
            }
            if (Files.exists(out)) {
                for (float v : Npy.read(out).floats()) {
                    if (!Float.isFinite(v)) {
                        return "exit 0 with a non-finite embedding";
                    }
                }
            }
            return null;
        }
        List<String> errors = r.err().lines().filter(l -> l.startsWith("visiontower:")).toList();
        if (r.code() != 2) {
            return "exit " + r.code() + ": " + String.join(" | ", errors);
        }
        if (errors.size() != 1 || !errors.get(0).startsWith("visiontower: error: ")) {
            return "exit 2 but " + errors.size() + " error lines: " + r.err().strip();
        }
        long lines = r.err().lines().filter(l -> l.startsWith("\tat ") || l.startsWith("Caused by")).count();
        if (lines > 0) {
            return "a stack trace: " + r.err().strip();
        }
        String e = errors.get(0);
        String name = c.file().getFileName().toString();
        if (!e.contains(name) && !e.contains(c.file().getParent().toString())) {
            return "the error names neither " + name + " nor its folder: " + e;
        }
        return null;
    }
}
