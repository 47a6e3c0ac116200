package dev.visiontower.models.siglip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.Device;
import dev.visiontower.api.Models;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.text.Encoding;
import dev.visiontower.api.train.TrainableDualEncoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What training SigLIP from scratch needs: a SentencePiece vocabulary for the captions and a new checkpoint. */
class SiglipFromScratchTest {
    @TempDir
    Path tmp;

    @Test
    void captionVocabularyTokenizesEveryCaptionWordAsOnePiece() {
        List<String> captions = List.of("a red circle", "A photo of a small blue star, in the corner.",
                "a red star");
        SentencePieceWriter w = new SentencePieceWriter(captions);
        SentencePieceModel m = SentencePieceModel.parse(w.toBytes(), "test");
        assertEquals(w.size(), m.size());
        assertEquals(0, m.idOf("<pad>"));
        assertEquals(1, m.idOf("</s>"));
        assertEquals(2, m.unkId());
        SiglipTokenizer tok = new SiglipTokenizer(m, 8);
        long[] ids = tok.tokenize("A red circle!");
        assertArrayEquals(new long[] {m.idOf("\u2581a"), m.idOf("\u2581red"), m.idOf("\u2581circle")}, ids);
        assertTrue(m.idOf("\u2581a") < m.idOf("\u2581circle"), "the most frequent words come first");
        // an unseen word made of known letters splits into them; an unknown letter is <unk>
        long[] unseen = tok.tokenize("tar");
        assertEquals(List.of(m.idOf("\u2581"), m.idOf("t"), m.idOf("a"), m.idOf("r")),
                java.util.Arrays.stream(unseen).boxed().map(Long::intValue).toList(), "▁ t a r");
        assertTrue(java.util.Arrays.stream(tok.tokenize("zz")).anyMatch(i -> i == 2), "z was never seen");
        Encoding e = tok.encode(List.of("a red star"));
        assertEquals(1, e.inputIds().longs()[3], "</s> after the words");
        assertEquals(1, e.inputIds().longs()[7], "padded with </s>");
    }

    @Test
    void newCheckpointLoadsForTrainingWithPaperInitialisation() throws Exception {
        ObjectMapper json = new ObjectMapper();
        ObjectNode cfg = json.createObjectNode();
        cfg.putObject("vision_config").put("hidden_size", 32).put("intermediate_size", 64).put("num_hidden_layers", 1)
                .put("num_attention_heads", 2).put("image_size", 32).put("patch_size", 8);
        SentencePieceWriter w = new SentencePieceWriter(List.of("a red circle", "a blue square"));
        cfg.putObject("text_config").put("hidden_size", 16).put("intermediate_size", 32).put("num_hidden_layers", 1)
                .put("num_attention_heads", 2).put("max_position_embeddings", 8).put("vocab_size", w.size())
                .put("projection_size", 32);
        Path dir = tmp.resolve("new");
        dev.visiontower.api.train.NewModel.write(new SiglipFamilyProvider(), dir, cfg, 3, Map.of());
        Map<String, Integer> entries = new SiglipFamilyProvider().recipe().orElseThrow()
                .writeCaptionTokenizer(dir, List.of("a red circle", "a blue square"));
        assertEquals(w.size(), entries.get("vocab_size"));
        assertTrue(Files.isRegularFile(dir.resolve("spiece.model")));
        try (Checkpoint c = Checkpoint.open(dir); Backend b = Backends.open("libtorch", Device.CPU)) {
            assertEquals("siglip", Models.detect(c).family().name());
            assertEquals(Math.log(10), c.read("logit_scale").floats()[0], 1e-6);
            assertEquals(-10, c.read("logit_bias").floats()[0], 0);
            assertEquals(3 * 32, c.read("vision_model.head.attention.in_proj_weight").shape()[0], "packed q, k, v");
            assertArrayEquals(new long[] {1, 1, 32}, c.read("vision_model.head.probe").shape(), "as SiglipModel has it");
            assertArrayEquals(new long[] {16, 32}, c.read("vision_model.embeddings.position_embedding.weight").shape());
            try (TrainableDualEncoder m = Models.detect(c).definition().loadForTraining(c, b)) {
                assertTrue(m.parameters().size() > 20);
            }
            assertTrue(Models.detect(c).definition().tokenizer().isPresent());
        }
        // the text head must project to the vision width
        ((ObjectNode) cfg.get("text_config")).put("projection_size", 16);
        assertThrows(dev.visiontower.api.InvalidInputException.class,
                () -> dev.visiontower.api.train.NewModel.write(new SiglipFamilyProvider(), tmp.resolve("bad"), cfg, 3,
                        Map.of()));
    }

    /** Same config as the golden siglip_full model (made by transformers): the same tensor names and shapes. */
    @Test
    void newCheckpointHasSiglipModelsLayout() throws Exception {
        Path golden = SiglipLossTest.golden("siglip_full");
        Path dir = tmp.resolve("like-golden");
        try (Checkpoint g = Checkpoint.open(golden)) {
            dev.visiontower.api.train.NewModel.write(new SiglipFamilyProvider(), dir, g.config(), 11, Map.of());
            try (Checkpoint c = Checkpoint.open(dir)) {
                java.util.Set<String> want = new java.util.TreeSet<>(g.names());
                want.removeIf(n -> n.endsWith("position_ids"));
                assertEquals(want, new java.util.TreeSet<>(c.names()));
                for (String n : want) {
                    assertArrayEquals(g.info(n).shape(), c.info(n).shape(), n);
                }
            }
        }
    }
}
