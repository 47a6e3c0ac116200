package dev.visiontower.api.nn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.Golden;
import dev.visiontower.api.InvalidInputException;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VitConfigTest {
    @Test
    void rejectsInconsistentConfigs() {
        String m = assertThrows(InvalidInputException.class, () -> VitConfig.builder().width(100).heads(12).build())
                .getMessage();
        assertTrue(m.contains("not divisible"), m);
        assertThrows(InvalidInputException.class, () -> VitConfig.builder().classToken(false).build());
        assertThrows(InvalidInputException.class, () -> VitConfig.builder().pooling(Pooling.MAP).build());
        assertThrows(InvalidInputException.class, () -> VitConfig.builder().imageSize(8).build());
    }

    /** Exact parameter counts of the real CLIP vision towers, as transformers counts them. */
    @Test
    void clipPresetsHaveTheReferenceParameterCounts() throws IOException {
        JsonNode counts = new ObjectMapper().readTree(Golden.dir("param_counts").resolve("param_counts.json").toFile());
        String[][] cases = {
            {"openai/clip-vit-base-patch32", "clip-vit-b-32"},
            {"openai/clip-vit-base-patch16", "clip-vit-b-16"},
            {"openai/clip-vit-large-patch14", "clip-vit-l-14"},
            {"openai/clip-vit-large-patch14-336", "clip-vit-l-14-336"},
        };
        for (String[] c : cases) {
            JsonNode entry = find(counts, c[0]).path("counts");
            VitConfig cfg = VitPresets.byName(c[1]);
            assertEquals(entry.path("vision_tower_with_projection (CLIPVisionModelWithProjection)").asLong(-1),
                    VisionTransformer.parameterCount(cfg), c[0] + " with projection");
            assertEquals(entry.path("vision_tower (CLIPVisionModel, no projection)").asLong(-1),
                    VisionTransformer.parameterCount(cfg.toBuilder().projectionDim(0).build()), c[0]);
        }
    }

    @Test
    void siglipAndInternVitPresetsHaveTheReferenceParameterCounts() throws IOException {
        JsonNode counts = new ObjectMapper().readTree(Golden.dir("param_counts").resolve("param_counts.json").toFile());
        assertEquals(find(counts, "google/siglip-base-patch16-224").path("counts")
                .path("vision_tower (SiglipVisionModel, incl. MAP head)").asLong(-1),
                VisionTransformer.parameterCount(VitPresets.siglipBase16_224()));
        assertEquals(find(counts, "google/siglip-so400m-patch14-384").path("counts")
                .path("vision_tower (SiglipVisionModel, incl. MAP head)").asLong(-1),
                VisionTransformer.parameterCount(VitPresets.siglipSo400m14_384()));
        assertEquals(find(counts, "OpenGVLab/InternViT-300M-448px").path("counts")
                .path("vision_tower = whole_model (InternVisionModel)").asLong(-1),
                VisionTransformer.parameterCount(VitPresets.internVit300m448()));
        assertEquals(find(counts, "OpenGVLab/InternViT-6B-448px-V1-5").path("counts")
                .path("vision_tower = whole_model (InternVisionModel)").asLong(-1),
                VisionTransformer.parameterCount(VitPresets.internVit6b448()));
    }

    /** Text towers and whole dual encoders: vision (with projection) + text (with projection) + logit scalars. */
    @Test
    void textTowersAndWholeModelsHaveTheReferenceParameterCounts() throws IOException {
        JsonNode counts = new ObjectMapper().readTree(Golden.dir("param_counts").resolve("param_counts.json").toFile());
        Object[][] clip = {
            {"openai/clip-vit-base-patch32", VitPresets.clipVitB32(), TextPresets.clipBase()},
            {"openai/clip-vit-base-patch16", VitPresets.clipVitB16(), TextPresets.clipBase()},
            {"openai/clip-vit-large-patch14", VitPresets.clipVitL14(), TextPresets.clipLarge()},
            {"openai/clip-vit-large-patch14-336", VitPresets.clipVitL14_336(), TextPresets.clipLarge()},
        };
        for (Object[] c : clip) {
            JsonNode n = find(counts, (String) c[0]).path("counts");
            TextConfig text = (TextConfig) c[2];
            long textTower = TextTransformer.parameterCount(text.withoutProjection());
            assertEquals(n.path("text_tower (CLIPModel.text_model)").asLong(-1), textTower, c[0] + " text tower");
            assertEquals(n.path("whole_model (CLIPModel)").asLong(-1), VisionTransformer.parameterCount((VitConfig) c[1])
                    + TextTransformer.parameterCount(text) + 1, c[0] + " whole model");
        }
        Object[][] siglip = {
            {"google/siglip-base-patch16-224", VitPresets.siglipBase16_224(), TextPresets.siglipBase()},
            {"google/siglip-so400m-patch14-384", VitPresets.siglipSo400m14_384(), TextPresets.siglipSo400m()},
        };
        for (Object[] c : siglip) {
            JsonNode n = find(counts, (String) c[0]).path("counts");
            long text = TextTransformer.parameterCount((TextConfig) c[2]);
            assertEquals(n.path("text_tower (SiglipModel.text_model, incl. head Linear)").asLong(-1), text,
                    c[0] + " text tower");
            assertEquals(n.path("whole_model (SiglipModel)").asLong(-1),
                    VisionTransformer.parameterCount((VitConfig) c[1]) + text + 2, c[0] + " whole model");
        }
    }

    private static JsonNode find(JsonNode counts, String model) {
        for (JsonNode m : counts.path("models")) {
            if (m.path("model").asText().equals(model)) {
                return m;
            }
        }
        throw new AssertionError("param_counts.json has no entry for " + model);
    }
}
