package dev.visiontower.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.visiontower.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A short training run as a user does it: from scratch on make-shapes data, resumed, and used everywhere. */
class TrainCommandTest {
    @TempDir
    Path tmp;

    static List<JsonNode> epochs(Path out) throws IOException {
        List<JsonNode> e = new ArrayList<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : Files.readAllLines(out.resolve("metrics.jsonl"))) {
            JsonNode o = json.readTree(line);
            if (o.has("train_loss")) {
                e.add(o);
            }
        }
        return e;
    }

    @Test
    void trainsResumesAndTheResultLoadsEverywhere() throws IOException {
        Path data = tmp.resolve("data");
        Path out = tmp.resolve("model");
        CliTest.Result r = run("make-shapes", "--output", data.toString(), "--count", "256", "--heldout", "64",
                "--seed", "3");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(data.resolve("train/captions.jsonl")) && Files.isRegularFile(
                data.resolve("heldout/000063.png")));

        r = run("train", "--preset", "shapes-clip", "--data", data.toString(), "--output", out.toString(),
                "--epochs", "2", "--batch", "32", "--lr", "2e-3", "--warmup", "4", "--seed", "1");
        assertEquals(0, r.code(), r.err());
        for (String f : new String[] {"model.safetensors", "config.json", "vocab.json", "merges.txt",
            "optimizer.safetensors", "trainer_state.json", "metrics.jsonl", "training_curve.png"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        List<JsonNode> e = epochs(out);
        assertEquals(2, e.size());
        assertTrue(e.get(1).get("train_loss").asDouble() < e.get(0).get("train_loss").asDouble(),
                "training loss falls: " + e);
        assertTrue(e.get(1).has("heldout_zero_shot_accuracy"));

        // an interrupted run continues from its last complete checkpoint
        r = run("train", "--resume", out.toString(), "--data", data.toString(), "--epochs", "3", "--batch", "32",
                "--lr", "2e-3", "--warmup", "4", "--seed", "1");
        assertEquals(0, r.code(), r.err());
        e = epochs(out);
        assertEquals(3, e.size(), "the resumed run adds epoch 3 to the same metrics");
        assertEquals(3, new ObjectMapper().readTree(out.resolve("trainer_state.json").toFile()).get("epoch").asInt());

        // the result is an ordinary checkpoint
        String img = data.resolve("heldout/000000.png").toString();
        r = run("classify", "--model", out.toString(), "--labels", "red circle,blue square,green star",
                "--template", "a {}", "--json", img);
        assertEquals(0, r.code(), r.err());
        r = run("embed", "--model", out.toString(), img, "--output", tmp.resolve("e.npy").toString());
        assertEquals(0, r.code(), r.err());
        r = run("export-onnx", "--model", out.toString(), "--text", "--output", tmp.resolve("m.onnx").toString());
        assertEquals(0, r.code(), r.err());
        r = run("tokenize", "--model", out.toString(), "--text", "a red circle", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode ids = new ObjectMapper().readTree(r.out()).get(0).get("input_ids");
        assertEquals(0, ids.get(5).asLong(), "each caption word is one token: [sot, a, red, circle, eot, pad...]");
        assertTrue(ids.get(4).asLong() > ids.get(3).asLong());
    }

    @Test
    void bf16AutocastTrainingRunsAndSavesFloat32Weights() throws IOException {
        Path data = tmp.resolve("data");
        Path out = tmp.resolve("bf16");
        assertEquals(0, run("make-shapes", "--output", data.toString(), "--count", "128", "--heldout", "32",
                "--seed", "5").code());
        CliTest.Result r = run("train", "--preset", "shapes-clip", "--data", data.toString(), "--output",
                out.toString(), "--epochs", "2", "--batch", "32", "--lr", "2e-3", "--warmup", "2", "--seed", "1",
                "--precision", "bf16");
        assertEquals(0, r.code(), r.err());
        List<JsonNode> e = epochs(out);
        assertEquals(2, e.size());
        assertTrue(Double.isFinite(e.get(1).get("train_loss").asDouble()), e.toString());
        assertTrue(e.get(1).get("train_loss").asDouble() < e.get(0).get("train_loss").asDouble(),
                "training loss falls: " + e);
        String header = new String(Files.readAllBytes(out.resolve("model.safetensors")), 0, 4096,
                java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(header.contains("\"F32\"") && !header.contains("\"BF16\""), "weights saved in float32");
    }

    @Test
    void siglipFromScratchTrainsWithCheckpointingAndClassifies() throws IOException {
        Path data = tmp.resolve("data");
        Path out = tmp.resolve("siglip");
        assertEquals(0, run("make-shapes", "--output", data.toString(), "--count", "192", "--heldout", "32",
                "--seed", "6").code());
        CliTest.Result r = run("train", "--preset", "shapes-siglip", "--data", data.toString(), "--output",
                out.toString(), "--epochs", "2", "--batch", "32", "--lr", "2e-3", "--warmup", "2", "--seed", "1",
                "--grad-checkpointing");
        assertEquals(0, r.code(), r.err());
        for (String f : new String[] {"model.safetensors", "config.json", "spiece.model", "preprocessor_config.json"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        List<JsonNode> e = epochs(out);
        assertEquals(2, e.size());
        assertTrue(e.get(1).get("train_loss").asDouble() < e.get(0).get("train_loss").asDouble(),
                "training loss falls: " + e);
        JsonNode cfg = new ObjectMapper().readTree(out.resolve("config.json").toFile());
        assertEquals("siglip", cfg.get("model_type").asText());
        r = run("classify", "--model", out.toString(), "--labels", "red circle,blue square", "--template", "a {}",
                "--json", data.resolve("heldout/000000.png").toString());
        assertEquals(0, r.code(), r.err());
        r = run("tokenize", "--model", out.toString(), "--text", "a red circle", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode ids = new ObjectMapper().readTree(r.out()).get(0).get("input_ids");
        assertEquals(1, ids.get(3).asLong(), "[a, red, circle, </s>]: one piece per caption word");
        CliTest.assertCleanError(run("train", "--preset", "shapes-clip", "--family", "siglip", "--data",
                data.toString(), "--output", tmp.resolve("x").toString()), "shapes-siglip");
    }

    @Test
    void presetsComeFromTheFamiliesRecipes() {
        CliTest.Result r = run("train", "--list-presets");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("shapes-clip") && r.out().contains("clip: small CLIP"), r.out());
        assertTrue(r.out().contains("shapes-siglip") && r.out().contains("siglip: small SigLIP"), r.out());
    }

    @Test
    void unsupportedRequestsAreRefusedClearly() {
        CliTest.assertCleanError(run("train", "--preset", "shapes-clip", "--data", tmp.toString(), "--output",
                tmp.resolve("o").toString(), "--precision", "fp8"), "unknown dtype 'fp8'");
        CliTest.assertCleanError(run("train", "--preset", "shapes-clip", "--data", tmp.toString(), "--output",
                tmp.resolve("o").toString(), "--dtype", "int8"), "float32, bfloat16 or float16 for training");
        CliTest.assertCleanError(run("train", "--preset", "shapes-vit", "--data", tmp.toString(), "--output",
                tmp.resolve("o").toString()), "expected one of [shapes-clip, shapes-siglip]");
        CliTest.assertCleanError(run("train", "--preset", "shapes-clip", "--data", tmp.resolve("none").toString(),
                "--output", tmp.resolve("o").toString()), "no such data directory");
        CliTest.assertCleanError(run("train", "--preset", "shapes-clip", "--backend", "onnx", "--data",
                tmp.toString(), "--output", tmp.resolve("o").toString()), "training");
    }
}
