package dev.visiontower.models.clip;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.visiontower.api.CheckpointException;
import dev.visiontower.api.Models;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.image.ImageTransform;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.api.nn.VitPresets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ways open_clip checkpoints describe their architecture all give the same configuration. */
class ClipFormatsTest {
    @TempDir
    Path tmp;

    private Path copyWeights(String caseName, String into) throws IOException {
        Path d = tmp.resolve(into);
        Files.createDirectories(d);
        Files.copy(Golden.dir(caseName).resolve("model.safetensors"), d.resolve("open_clip_model.safetensors"));
        return d;
    }

    private VitConfig config(Path dir) {
        try (Checkpoint c = Checkpoint.open(dir)) {
            assertEquals("clip", Models.detect(c).family().name());
            return ClipFamilyProvider.visionConfig(c);
        }
    }

    @Test
    void openClipConfigJsonAndInferenceAgree() throws IOException {
        VitConfig fromConfigJson = config(Golden.dir("openclip_clip"));
        assertEquals(48, fromConfigJson.width());
        assertEquals(2, fromConfigJson.heads());
        assertEquals(96, fromConfigJson.mlpWidth());
        assertEquals(24, fromConfigJson.projectionDim());

        // the hub layout: open_clip_config.json with model_cfg, weights in open_clip_model.safetensors
        Path hub = copyWeights("openclip_clip", "hub");
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        root.set("model_cfg", json.readTree(Golden.dir("openclip_clip").resolve("config.json").toFile()));
        ObjectNode pre = root.putObject("preprocess_cfg");
        pre.putArray("mean").add(0.5).add(0.5).add(0.5);
        pre.putArray("std").add(0.5).add(0.5).add(0.5);
        json.writeValue(hub.resolve("open_clip_config.json").toFile(), root);
        assertEquals(fromConfigJson, config(hub));
        try (Checkpoint c = Checkpoint.open(hub)) {
            ImageTransform t = (ImageTransform) Models.detect(c).definition().preprocessor();
            assertEquals(ImageTransform.CropOffset.ROUND_HALF_EVEN, t.cropOffset());
            assertEquals(0.5f, t.mean()[0]);
        }

        // without a config the architecture is inferred from the weights as OpenAI's loader does; its head count
        // rule (width / 64) cannot describe this width-48 tower, which must say so rather than guess
        Path bare = copyWeights("openclip_clip", "bare");
        String m = assertThrows(CheckpointException.class, () -> config(bare)).getMessage();
        assertTrue(m.contains("width-48") && m.contains("open_clip_config.json"), m);
    }

    @Test
    void huggingFaceCheckpointWithoutProjectionLoadsTheTower() throws IOException {
        VitConfig cfg = config(Golden.dir("clip_vision"));
        assertEquals(24, cfg.projectionDim());
        assertEquals(VitPresets.clipVitB32().activation(), cfg.activation());
    }

    @Test
    void unknownDirectoryIsRejectedByName() throws IOException {
        Path d = tmp.resolve("other");
        Files.createDirectories(d);
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"bert\"}");
        Files.copy(Golden.dir("clip_vision").resolve("model.safetensors"), d.resolve("model.safetensors"));
        try (Checkpoint c = Checkpoint.open(d)) {
            String m = assertThrows(CheckpointException.class, () -> Models.detect(c)).getMessage();
            assertTrue(m.contains("no model family recognises") && m.contains("clip"), m);
        }
    }
}
