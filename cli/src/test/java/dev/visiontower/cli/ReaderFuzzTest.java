package dev.visiontower.cli;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.visiontower.api.Models;
import dev.visiontower.api.VisionTowerException;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.Npy;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.image.ImageDecoding;
import dev.visiontower.api.image.ImageLoadOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Coverage-guided fuzzing (Jazzer) of the readers that take files from users: safetensors, .npy, images, a model's
 * config.json and the SentencePiece model. A reader may refuse an input only with a {@link VisionTowerException} (the
 * one-line errors of the command line); anything else (an unchecked exception, an {@link Error}, a hang) is a finding.
 *
 * <p>Run by {@code mvn verify} in two ways: every method replays its seeds and the findings kept as regression cases
 * ({@code src/test/resources/dev/visiontower/cli/ReaderFuzzTestInputs/METHOD/}); and the surefire executions
 * {@code fuzz-*} of this module fuzz each method for a fixed time ({@code JAZZER_FUZZ=1}, {@code maxDuration}). A
 * finding is written to that folder, fails the build, and stays there as a regression case once fixed.
 */
class ReaderFuzzTest {
    private static final Path WORK = tempDir();

    private static Path tempDir() {
        try {
            Path d = Files.createTempDirectory("visiontower-fuzz");
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path write(String name, byte[] data) {
        try {
            Path f = WORK.resolve(name);
            Files.write(f, data);
            return f;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A model directory: the bundled model's files, then {@code name} replaced by {@code data}. */
    private static Path modelDir(String family, String name, byte[] data) {
        try {
            Path d = WORK.resolve(family);
            if (!Files.isDirectory(d)) {
                Files.createDirectories(d);
                Path from = family.equals("clip") ? CliTest.root().resolve("samples/model")
                        : CliTest.golden("siglip_full");
                try (var s = Files.list(from)) {
                    for (Path f : s.filter(Files::isRegularFile).toList()) {
                        Files.copy(f, d.resolve(f.getFileName()));
                    }
                }
                if (family.equals("siglip")) {
                    Files.copy(CliTest.golden("siglip_tokenizer").resolve("spiece.model"), d.resolve("spiece.model"));
                }
            }
            Files.write(d.resolve(name), data);
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "20s")
    void safetensors(byte[] data) {
        try (Safetensors s = Safetensors.open(write("fuzz.safetensors", data))) {
            for (String name : s.names()) {
                s.read(name);
            }
        } catch (VisionTowerException expected) {
            // a clean refusal
        }
    }

    @FuzzTest(maxDuration = "20s")
    void npy(byte[] data) {
        try {
            Npy.read(write("fuzz.npy", data));
        } catch (VisionTowerException expected) {
            // a clean refusal
        }
    }

    @FuzzTest(maxDuration = "20s")
    void image(byte[] data) {
        try {
            ImageDecoding.decode(data, "fuzz", ImageLoadOptions.HUGGING_FACE);
        } catch (VisionTowerException expected) {
            // a clean refusal
        }
    }

    @FuzzTest(maxDuration = "20s")
    void config(byte[] data) {
        try (Checkpoint c = Checkpoint.open(modelDir("clip", "config.json", data))) {
            var definition = Models.detect(c).definition();
            definition.preprocessor();
            definition.tokenizer().ifPresent(t -> t.encode(List.of("a photo of a red circle")));
        } catch (VisionTowerException expected) {
            // a clean refusal
        }
    }

    @FuzzTest(maxDuration = "20s")
    void sentencePiece(byte[] data) {
        try (Checkpoint c = Checkpoint.open(modelDir("siglip", "spiece.model", data))) {
            Models.detect(c).definition().tokenizer().ifPresent(t -> t.encode(List.of("a photo of a cat")));
        } catch (VisionTowerException expected) {
            // a clean refusal
        }
    }
}
