package dev.visiontower.models.clip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.text.Encoding;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Exact ids against open_clip's SimpleTokenizer on 16 strings (cleaning, unicode, special tokens, truncation). */
class ClipTokenizerTest {
    static long[] longs(JsonNode arr) {
        long[] out = new long[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asLong();
        }
        return out;
    }

    @Test
    void matchesOpenClipExactly() throws IOException {
        JsonNode cases = new ObjectMapper().readTree(Golden.dir("tokenizer").resolve("clip_cases.json").toFile());
        ClipTokenizer tok = ClipTokenizer.bundled(77);
        assertEquals(49406, tok.startOfText());
        assertEquals(49407, tok.endOfText());
        int n = 0;
        for (JsonNode c : cases.path("cases")) {
            String text = c.path("text").asText();
            assertArrayEquals(longs(c.path("bpe_ids")), tok.tokenize(text), "bpe ids of " + text);
            Encoding e = tok.encode(List.of(text));
            assertArrayEquals(longs(c.path("input_ids")), e.inputIds().longs(), "input ids of " + text);
            n++;
        }
        assertEquals(16, n);
    }

    @Test
    void aPieceMissingFromTheVocabularyIsTheUnknownToken(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws IOException {
        // a vocabulary of 'a' and 'b' only: "ab c" -> a, b</w> and then c</w>, which has no id
        java.nio.file.Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0, \"b</w>\": 1, \"<|startoftext|>\": 2, "
                + "\"<|endoftext|>\": 3}");
        java.nio.file.Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        ClipTokenizer tok = ClipTokenizer.fromHuggingFace(dir, 8);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new long[] {0, 1, 3}, tok.tokenize("ab c"));
        java.nio.file.Files.writeString(dir.resolve("vocab.json"), "{\"a\": \"zero\"}");
        String m = org.junit.jupiter.api.Assertions.assertThrows(dev.visiontower.api.CheckpointException.class,
                () -> ClipTokenizer.fromHuggingFace(dir, 8)).getMessage();
        org.junit.jupiter.api.Assertions.assertTrue(m.contains("vocab.json") && m.contains("'a'"), m);
    }
}
