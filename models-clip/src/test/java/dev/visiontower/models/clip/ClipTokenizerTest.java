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
}
