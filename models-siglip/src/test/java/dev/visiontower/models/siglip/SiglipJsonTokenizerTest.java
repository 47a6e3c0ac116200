package dev.visiontower.models.siglip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.text.Encoding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code tokenizer.json} support (SigLIP 2 repositories ship one instead of {@code spiece.model}). The golden
 * SentencePiece model is written out as the {@code tokenizer.json} Hugging Face's converter makes for T5-style
 * unigram models (precompiled normaliser, Metaspace with the dummy prefix on the first piece only, {@code $A </s>}
 * template); the Hugging Face tokenizers library
 * must then give exactly transformers' SiglipTokenizer ids at lengths 16 and 64.
 */
class SiglipJsonTokenizerTest {
    @TempDir
    Path tmp;

    private Path tokenizerJsonDir() throws IOException {
        SentencePieceModel m = SentencePieceModel.parse(
                Files.readAllBytes(SiglipTokenizerTest.golden().resolve("spiece.model")), "spiece.model");
        ObjectMapper om = new ObjectMapper();
        ObjectNode root = om.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        ArrayNode vocab = om.createArrayNode();
        for (int id = 0; id < m.size(); id++) {
            int type = m.type(id);
            if (type == SentencePieceModel.CONTROL || type == SentencePieceModel.UNKNOWN) {
                added.addObject().put("id", id).put("content", m.piece(id)).put("single_word", false)
                        .put("lstrip", false).put("rstrip", false).put("normalized", false).put("special", true);
            }
            vocab.addArray().add(m.piece(id)).add(type == SentencePieceModel.NORMAL ? m.score(id) : 0.0);
        }
        ObjectNode norm = root.putObject("normalizer").put("type", "Sequence");
        ArrayNode norms = norm.putArray("normalizers");
        norms.addObject().put("type", "Precompiled")
                .put("precompiled_charsmap", Base64.getEncoder().encodeToString(m.charsMapBytes()));
        ObjectNode spaces = norms.addObject().put("type", "Replace").put("content", " ");
        spaces.putObject("pattern").put("Regex", " {2,}");
        ObjectNode meta = om.createObjectNode().put("type", "Metaspace").put("replacement", "\u2581")
                .put("prepend_scheme", "first").put("split", true);
        root.set("pre_tokenizer", meta);
        ObjectNode post = root.putObject("post_processor").put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        single.addObject().putObject("SpecialToken").put("id", "</s>").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "</s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "</s>").put("type_id", 0);
        ObjectNode eos = post.putObject("special_tokens").putObject("</s>").put("id", "</s>");
        eos.putArray("ids").add(1);
        eos.putArray("tokens").add("</s>");
        root.set("decoder", meta.deepCopy());
        ObjectNode model = root.putObject("model").put("type", "Unigram").put("unk_id", m.unkId());
        model.set("vocab", vocab);
        model.put("byte_fallback", false);
        Path dir = tmp.resolve("siglip-json");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("tokenizer.json"), om.writeValueAsString(root));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"pad_token\": \"</s>\", \"eos_token\": \"</s>\"}");
        return dir;
    }

    @Test
    void tokenizerJsonGivesTransformersIds() throws IOException {
        Path dir = tokenizerJsonDir();
        JsonNode cases = new ObjectMapper().readTree(
                SiglipTokenizerTest.golden().resolve("siglip_tokenizer_cases.json").toFile());
        int n = 0;
        for (int len : new int[] {16, 64}) {
            var found = SiglipTokenizer.find(dir, len);
            assertTrue(found.isPresent() && found.get() instanceof SiglipJsonTokenizer, "tokenizer.json is picked up");
            for (JsonNode c : cases.path("cases")) {
                String text = c.path("text").asText();
                Encoding e = found.get().encode(List.of(text));
                assertArrayEquals(SiglipTokenizerTest.longs(c.path("input_ids_" + len)), e.inputIds().longs(),
                        len + " ids of " + text);
                assertArrayEquals(SiglipTokenizerTest.longs(c.path("attention_mask_" + len)),
                        e.attentionMask().longs(), len + " mask of " + text);
                n++;
            }
        }
        assertEquals(32, n);
    }

    @Test
    void padTokenComesFromTheConfigElseThePadPiece() throws IOException {
        Path dir = tokenizerJsonDir();
        Files.delete(dir.resolve("tokenizer_config.json"));
        long[] ids = SiglipJsonTokenizer.load(dir, 8).encode(List.of("a cat")).inputIds().longs();
        assertEquals(0, ids[7], "without tokenizer_config.json the <pad> piece (id 0) pads");
        assertEquals(1, ids[2], "the template's </s> ends the text");
    }

    @Test
    void brokenTokenizerJsonIsACheckpointError() throws IOException {
        String[] broken = {
            "{\"version\": \"1.0\"}",
            "not json at all",
            "{\"model\": {\"type\": \"NoSuchModel\"}, \"added_tokens\": [{\"id\": 0, \"content\": \"<pad>\"}]}",
            "{\"model\": {\"type\": \"Unigram\", \"unk_id\": 7, \"vocab\": [[\"a\", -1.0]]}, "
                + "\"added_tokens\": [{\"id\": 0, \"content\": \"<pad>\"}]}",
            "{\"model\": {\"type\": \"Unigram\", \"vocab\": [[\"a\"]]}, "
                + "\"added_tokens\": [{\"id\": 0, \"content\": \"<pad>\"}]}",
        };
        for (int i = 0; i < broken.length; i++) {
            Path dir = tmp.resolve("broken" + i);
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("tokenizer.json"), broken[i]);
            CheckpointException e = assertThrows(CheckpointException.class, () -> SiglipJsonTokenizer.load(dir, 16),
                    broken[i]);
            assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
        }
    }
}
