package dev.visiontower.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.checkpoint.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.visiontower.cli.CliTest.assertCleanError;
import static dev.visiontower.cli.CliTest.golden;
import static dev.visiontower.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** embed-text, score, classify and tokenize as a user runs them. */
class TextCommandsTest {
    @TempDir
    Path tmp;

    @Test
    void scoreReproducesTheReferenceLogitsAndLoss() {
        for (String c : List.of("clip_full", "siglip_full", "openclip_clip")) {
            Path io = golden(c).resolve("io.safetensors");
            Path out = tmp.resolve(c + ".safetensors");
            CliTest.Result r = run("score", "--model", golden(c).toString(), "--pixels", io.toString(), "--input-ids",
                    io.toString(), "--output", out.toString());
            assertEquals(0, r.code(), r.err());
            try (Safetensors got = Safetensors.open(out); Safetensors ref = Safetensors.open(io)) {
                for (String k : List.of("image_embeds", "text_embeds", "logits_per_image", "logits_per_text", "loss")) {
                    var cmp = Tolerance.FLOAT32.compare(got.read(k), ref.read(k));
                    assertTrue(cmp.ok(), c + " " + k + ": " + cmp.message());
                }
            }
        }
    }

    @Test
    void embedTextReproducesTheReference() {
        Path io = golden("clip_full").resolve("io.safetensors");
        Path out = tmp.resolve("t.safetensors");
        CliTest.Result r = run("embed-text", "--model", golden("clip_full").toString(), "--input-ids", io.toString(),
                "--output", out.toString());
        assertEquals(0, r.code(), r.err());
        try (Safetensors got = Safetensors.open(out); Safetensors ref = Safetensors.open(io)) {
            assertTrue(Tolerance.FLOAT32.compare(got.read("text_embeds"), ref.read("text_features")).ok());
            assertTrue(Tolerance.FLOAT32.compare(got.read("pooler_output"), ref.read("text.pooler_output")).ok());
            assertTrue(Tolerance.FLOAT32.compare(got.read("last_hidden_state"), ref.read("text.last_hidden_state")).ok());
        }
    }

    @Test
    void tokenizeWithTheBundledClipMerges() throws IOException {
        CliTest.Result r = run("tokenize", "--family", "clip", "--text", "a photo of a cat", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode doc = new ObjectMapper().readTree(r.out());
        JsonNode ids = doc.get(0).get("input_ids");
        assertEquals(77, ids.size());
        long[] head = new long[7];
        for (int i = 0; i < 7; i++) {
            head[i] = ids.get(i).asLong();
        }
        assertArrayEquals(new long[] {49406, 320, 1125, 539, 320, 2368, 49407}, head);
        assertCleanError(run("tokenize", "--family", "nosuch", "--text", "x"), "unknown family 'nosuch'");
        assertCleanError(run("tokenize", "--family", "siglip", "--text", "x"), "--model");
    }

    /**
     * A CLIP checkpoint shipped with its own Hugging Face tokenizer files: the tiny clip_full model plus a vocabulary
     * of single letters (its 320 ids, with start and end of text at 318 and 319 as its config says).
     */
    private Path clipWithTokenizer() throws IOException {
        Path dir = tmp.resolve("clip-with-tokenizer");
        Files.createDirectories(dir);
        Files.copy(golden("clip_full").resolve("config.json"), dir.resolve("config.json"));
        Files.copy(golden("clip_full").resolve("model.safetensors"), dir.resolve("model.safetensors"));
        ObjectMapper json = new ObjectMapper();
        ObjectNode vocab = json.createObjectNode();
        int id = 0;
        for (char c = 'a'; c <= 'z'; c++) {
            vocab.put(String.valueOf(c), id++);
            vocab.put(c + "</w>", id++);
        }
        vocab.put(".</w>", id++);
        vocab.put("<|startoftext|>", 318);
        vocab.put("<|endoftext|>", 319);
        json.writeValue(dir.resolve("vocab.json").toFile(), vocab);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        return dir;
    }

    @Test
    void classifyPrintsProbabilitiesThatSumToOne() throws IOException {
        Path model = clipWithTokenizer();
        String img = golden("preprocess").resolve("img_shapes.png").toString();
        CliTest.Result r = run("classify", "--model", model.toString(), "--labels", "cat,dog,car", "--json", img, img);
        assertEquals(0, r.code(), r.err());
        JsonNode doc = new ObjectMapper().readTree(r.out());
        assertEquals("softmax", doc.path("probability").asText());
        JsonNode results = doc.path("results");
        assertEquals(2, results.size());
        double sum = 0;
        for (JsonNode e : results.get(0).path("top")) {
            sum += e.path("probability").asDouble();
        }
        assertEquals(1.0, sum, 1e-5, "softmax over all 3 labels (top 3 shown)");
        assertEquals(results.get(0).toString().replace(img, ""), results.get(1).toString().replace(img, ""));
        CliTest.Result table = run("classify", "--model", model.toString(), "--labels", "cat,dog", img);
        assertTrue(table.out().startsWith("IMAGE") && table.out().contains("softmax over the labels"), table.out());
        // an option carrying another backend's name is left to that backend; without the name it is refused
        CliTest.Result opt = run("classify", "--model", model.toString(), "--labels", "cat,dog", "--option",
                "jcuda.tf32=true", img);
        assertEquals(table.out(), opt.out());
        CliTest.assertCleanError(run("classify", "--model", model.toString(), "--backend", "libtorch", "--labels",
                "cat,dog", "--option", "tf32=true", img), "backend 'libtorch' has no option 'tf32'");
    }

    /** A SentencePiece unigram model written field by field (protobuf wire format): letters, with and without ▁. */
    private static byte[] tinySentencePiece() {
        java.io.ByteArrayOutputStream model = new java.io.ByteArrayOutputStream();
        java.util.List<String> pieces = new java.util.ArrayList<>(List.of("<pad>", "</s>", "<unk>", "\u2581"));
        for (char c = 'a'; c <= 'z'; c++) {
            pieces.add(String.valueOf(c));
            pieces.add("\u2581" + c);
        }
        for (int i = 0; i < pieces.size(); i++) {
            java.io.ByteArrayOutputStream p = new java.io.ByteArrayOutputStream();
            byte[] text = pieces.get(i).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            p.write(0x0a);
            p.write(text.length);
            p.writeBytes(text);
            p.write(0x15); // field 2, fixed32 score
            int bits = Float.floatToIntBits(i < 3 ? 0f : -1f - i * 0.01f);
            for (int k = 0; k < 4; k++) {
                p.write((bits >>> (8 * k)) & 0xff);
            }
            p.write(0x18); // field 3, type
            p.write(i == 0 || i == 1 ? 3 : i == 2 ? 2 : 1);
            model.write(0x0a);
            model.write(p.size());
            model.writeBytes(p.toByteArray());
        }
        model.writeBytes(new byte[] {0x12, 0x02, 0x18, 0x01}); // trainer_spec { model_type: UNIGRAM }
        model.writeBytes(new byte[] {0x1a, 0x06, 0x18, 0x01, 0x20, 0x01, 0x28, 0x01}); // normalizer flags
        return model.toByteArray();
    }

    @Test
    void classifyWithSiglipUsesIndependentSigmoids() throws IOException {
        Path dir = tmp.resolve("siglip-with-tokenizer");
        Files.createDirectories(dir);
        Files.copy(golden("siglip_full").resolve("config.json"), dir.resolve("config.json"));
        Files.copy(golden("siglip_full").resolve("model.safetensors"), dir.resolve("model.safetensors"));
        Files.write(dir.resolve("spiece.model"), tinySentencePiece());
        String img = golden("preprocess").resolve("img_shapes.png").toString();
        CliTest.Result r = run("classify", "--model", dir.toString(), "--labels", "red circle,blue square", "--json", img);
        assertEquals(0, r.code(), r.err());
        JsonNode doc = new ObjectMapper().readTree(r.out());
        assertEquals("sigmoid", doc.path("probability").asText());
        for (JsonNode e : doc.path("results").get(0).path("top")) {
            double p = e.path("probability").asDouble();
            assertTrue(p > 0 && p < 1, "sigmoid probability " + p);
        }
        CliTest.Result tok = run("tokenize", "--model", dir.toString(), "--text", "a cat", "--json");
        assertEquals(0, tok.code(), tok.err());
        JsonNode ids = new ObjectMapper().readTree(tok.out()).get(0).get("input_ids");
        assertEquals(12, ids.size(), "SigLIP pads to its context length");
        assertEquals("[5,9,4,42,1,1,1,1,1,1,1,1]", ids.toString(), "▁a ▁c a t, </s>, then </s> padding");
    }

    @Test
    void mismatchedTokenizerIsRefusedBeforeTheModelRuns() throws IOException {
        Path ids = tmp.resolve("ids.safetensors");
        dev.visiontower.api.checkpoint.SafetensorsWriter.write(ids, java.util.Map.of("input_ids",
                HostTensor.ofLongs(new long[] {318, 5000, 319}, 1, 3)), java.util.Map.of());
        assertCleanError(run("embed-text", "--model", golden("clip_full").toString(), "--input-ids", ids.toString(),
                "--output", tmp.resolve("o.npy").toString()), "token id 5000", "vocabulary of 320");
        assertCleanError(run("classify", "--model", golden("siglip_full").toString(), "--labels", "a,b",
                golden("preprocess").resolve("img_shapes.png").toString()), "no tokenizer");
    }
}
