package dev.visiontower.models.internvit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Models;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.image.RgbImage;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.spi.LoadOptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** InternVL's tiling, pixel shuffle and mlp1 projector against its own code. */
class InternVlTest {
    static Path golden(String c) {
        return Paths.get(System.getProperty("visiontower.testdata", "../testdata")).resolve("golden").resolve(c);
    }

    static void check(HostTensor a, HostTensor e, String what) {
        Tolerance.Comparison c = Tolerance.FLOAT32.compare(a, e);
        assertTrue(c.ok(), what + ": " + c.message());
    }

    @Test
    void tilingChoosesTheGridAndTilesLikeInternVl() throws IOException {
        Path dir = golden("internvl_tiling");
        JsonNode cases = new ObjectMapper().readTree(dir.resolve("internvl_tiling_cases.json").toFile());
        InternVlTiling tiling = new InternVlTiling(28, 1, 6, true);
        int n = 0;
        try (Safetensors io = Safetensors.open(dir.resolve("io.safetensors"))) {
            for (JsonNode img : cases.path("images")) {
                String name = img.path("name").asText();
                RgbImage rgb = RgbImage.of(io.read(name + ".decoded_rgb"));
                int[] grid = tiling.grid(rgb.width(), rgb.height());
                assertArrayEquals(new int[] {img.path("grid_cols_rows").get(0).asInt(),
                    img.path("grid_cols_rows").get(1).asInt()}, grid, name + " grid");
                List<RgbImage> tiles = tiling.tiles(rgb);
                HostTensor expectedTiles = io.read(name + ".tiles_uint8");
                assertEquals(expectedTiles.dim(0), tiles.size(), name + " tile count");
                for (int t = 0; t < tiles.size(); t++) {
                    assertArrayEquals(expectedTiles.slice0(t, 1).bytes(), tiles.get(t).rgb(), name + " tile " + t);
                }
                check(tiling.apply(rgb), io.read(name + ".pixel_values"), name + " pixel_values");
                n++;
            }
        }
        assertEquals(6, n);
    }

    @Test
    void chatCheckpointGivesTheProjectedTokens() {
        Path dir = golden("internvl_projector");
        try (Backend b = Backends.open("libtorch", Device.CPU);
             Checkpoint ckpt = Checkpoint.open(dir);
             Safetensors io = Safetensors.open(dir.resolve("io.safetensors"));
             TensorScope s = b.newScope()) {
            Models.Match m = Models.detect(ckpt);
            assertEquals("internvit", m.family().name());
            assertEquals("OpenGVLab InternVL chat (vision_model)", m.format());
            check(InternVlProjector.pixelShuffle(b.ops(), b.fromHost(io.read("pixel_shuffle_test.input"))).toHost(),
                    io.read("pixel_shuffle_test.output"), "pixel shuffle");
            try (VisionModel model = m.definition().loadVision(ckpt, b, LoadOptions.STRICT)) {
                long live = b.liveTensors();
                try (Tensor px = b.fromHost(io.read("pixel_values"));
                     VisionOutput out = model.forward(px, ForwardOptions.DEFAULT)) {
                    check(out.lastHiddenState().toHost(), io.read("vision.last_hidden_state"), "vision tokens");
                    check(out.imageEmbeds().toHost(), io.read("vit_embeds"), "vit_embeds");
                }
                assertEquals(live, b.liveTensors(), "nothing left behind");
            }
        }
    }
}
