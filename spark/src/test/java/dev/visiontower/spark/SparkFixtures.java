package dev.visiontower.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.cli.Main;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The shipped sample model and images, a corrupt image beside them, and what the CLI writes for them. */
final class SparkFixtures {
    static final ObjectMapper JSON = new ObjectMapper();

    private SparkFixtures() {
    }

    static Path home() {
        return Paths.get(System.getProperty("visiontower.home", "..")).toAbsolutePath().normalize();
    }

    static Path model() {
        return home().resolve("samples/model");
    }

    /** The 8 sample images and {@code 09-corrupt.png} (not an image) in {@code dir}. */
    static Path images(Path dir) throws IOException {
        Path d = Files.createDirectories(dir.resolve("images"));
        try (Stream<Path> s = Files.list(home().resolve("samples/images"))) {
            for (Path p : s.sorted().toList()) {
                Files.copy(p, d.resolve(p.getFileName()));
            }
        }
        Files.write(d.resolve("09-corrupt.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        return d;
    }

    static String cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        assertEquals(0, code, String.join(" ", args) + ": " + err);
        return out.toString();
    }

    /** {@code embed} of the images' good files, as written to .jsonl: file name -> embedding. */
    static Map<String, float[]> embed(Path images, Path tmp, boolean normalize) throws IOException {
        Path out = tmp.resolve("embed" + (normalize ? "-n" : "") + ".jsonl");
        List<String> args = new java.util.ArrayList<>(List.of("embed", "--model", model().toString(), "--output",
                out.toString()));
        if (normalize) {
            args.add("--normalize");
        }
        try (Stream<Path> s = Files.list(images)) {
            s.filter(p -> !p.getFileName().toString().contains("corrupt")).sorted()
                    .forEach(p -> args.add(p.toString()));
        }
        cli(args.toArray(new String[0]));
        Map<String, float[]> m = new LinkedHashMap<>();
        for (String line : Files.readAllLines(out)) {
            JsonNode n = JSON.readTree(line);
            m.put(Paths.get(n.get("image").asText()).getFileName().toString(), floats(n.get("embedding")));
        }
        return m;
    }

    static float[] floats(JsonNode arr) {
        float[] v = new float[arr.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) arr.get(i).asDouble();
        }
        return v;
    }

    static double maxDiff(float[] a, float[] b) {
        assertEquals(a.length, b.length, "embedding sizes");
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }

    static String fileName(String pathOrUri) {
        return pathOrUri.substring(pathOrUri.lastIndexOf('/') + 1);
    }
}
