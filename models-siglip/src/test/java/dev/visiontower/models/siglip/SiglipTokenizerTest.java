package dev.visiontower.models.siglip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.text.Encoding;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Exact ids and masks against transformers' SiglipTokenizer (SentencePiece 0.2.2) at lengths 16 and 64. */
class SiglipTokenizerTest {
    static Path golden() {
        return Paths.get(System.getProperty("visiontower.testdata", "../testdata")).resolve("golden/siglip_tokenizer");
    }

    static long[] longs(JsonNode arr) {
        long[] out = new long[arr.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = arr.get(i).asLong();
        }
        return out;
    }

    @Test
    void matchesTransformersExactly() throws IOException {
        JsonNode cases = new ObjectMapper().readTree(golden().resolve("siglip_tokenizer_cases.json").toFile());
        int n = 0;
        for (int len : new int[] {16, 64}) {
            SiglipTokenizer tok = SiglipTokenizer.load(golden().resolve("spiece.model"), len);
            for (JsonNode c : cases.path("cases")) {
                String text = c.path("text").asText();
                assertEquals(c.path("canonical").asText(), SiglipTokenizer.canonicalize(text), "canonical " + text);
                Encoding e = tok.encode(List.of(text));
                assertArrayEquals(longs(c.path("input_ids_" + len)), e.inputIds().longs(), len + " ids of " + text);
                assertArrayEquals(longs(c.path("attention_mask_" + len)), e.attentionMask().longs(),
                        len + " mask of " + text);
                n++;
            }
        }
        assertEquals(32, n);
    }
}
