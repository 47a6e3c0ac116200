package dev.visiontower.models.clip;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Models;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.spi.LoadOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** CLIP vision towers against the Hugging Face / open_clip reference outputs, float32 at 1e-4 + 1e-4*|b|. */
class ClipGoldenTest {
    private static Backend backend;

    @BeforeAll
    static void open() {
        backend = Backends.open("libtorch", Device.CPU);
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "clip_vision, '', image_embeds, false, Hugging Face CLIPVisionModelWithProjection",
        "clip_vision_interp, '', image_embeds, true, Hugging Face CLIPVisionModelWithProjection",
        "openclip_clip, 'vision.', image_features, false, OpenAI / open_clip",
    })
    void matchesReference(String caseName, String prefix, String embedsKey, boolean interpolate, String format) {
        Path dir = Golden.dir(caseName);
        long before = backend.liveTensors();
        try (Checkpoint ckpt = Checkpoint.open(dir);
             Safetensors io = Safetensors.open(dir.resolve("io.safetensors"))) {
            Models.Match m = Models.detect(ckpt);
            assertEquals("clip", m.family().name());
            assertEquals(format, m.format());
            try (var model = m.family().loadVision(ckpt, backend, LoadOptions.STRICT)) {
                long params = backend.liveTensors() - before;
                try (Tensor pixels = backend.fromHost(io.read("pixel_values"));
                     VisionOutput out = model.forward(pixels, new ForwardOptions(interpolate, true))) {
                    check(out.lastHiddenState(), io.read(prefix + "last_hidden_state"), caseName + " last_hidden_state");
                    check(out.poolerOutput(), io.read(prefix + "pooler_output"), caseName + " pooler_output");
                    assertNotNull(out.imageEmbeds());
                    check(out.imageEmbeds(), io.read(embedsKey), caseName + " " + embedsKey);
                    int n = 0;
                    while (io.contains(prefix + "hidden_states." + n)) {
                        check(out.hiddenStates().get(n), io.read(prefix + "hidden_states." + n),
                                caseName + " hidden_states." + n);
                        n++;
                    }
                    assertEquals(n, out.hiddenStates().size(), "number of hidden states");
                    assertTrue(n >= 3);
                }
                // the forward pass leaves nothing behind but the weights
                assertEquals(params, backend.liveTensors() - before, "live tensors after closing the outputs");
            }
        }
        assertEquals(before, backend.liveTensors(), "live tensors after closing the model");
    }

    /** The same cases computed in bfloat16 on the CPU, at the bfloat16 tolerance. */
    @ParameterizedTest(name = "{0} bf16")
    @CsvSource({
        "clip_vision, '', image_embeds, false",
        "clip_vision_interp, '', image_embeds, true",
        "openclip_clip, 'vision.', image_features, false",
    })
    void matchesReferenceInBfloat16(String caseName, String prefix, String embedsKey, boolean interpolate) {
        Path dir = Golden.dir(caseName);
        try (Backend bf16 = Backends.open("libtorch", BackendOptions.defaults().withDType(DType.BFLOAT16));
             Checkpoint ckpt = Checkpoint.open(dir);
             Safetensors io = Safetensors.open(dir.resolve("io.safetensors"));
             var model = (dev.visiontower.api.nn.VisionTransformer) Models.detect(ckpt).family()
                     .loadVision(ckpt, bf16, LoadOptions.STRICT);
             TensorScope scope = bf16.newScope()) {
            assertEquals(DType.BFLOAT16, model.parameters().get("pos_embed").dtype());
            VisionOutput out = model.forward(bf16.fromHost(io.read("pixel_values")), new ForwardOptions(interpolate, false));
            assertEquals(DType.BFLOAT16, out.lastHiddenState().dtype());
            check(out.lastHiddenState(), io.read(prefix + "last_hidden_state"), caseName + " bf16 last_hidden_state",
                    Tolerance.BFLOAT16);
            check(out.imageEmbeds(), io.read(embedsKey), caseName + " bf16 " + embedsKey, Tolerance.BFLOAT16);
        }
    }

    static void check(Tensor actual, HostTensor expected, String what) {
        check(actual, expected, what, Tolerance.FLOAT32);
    }

    static void check(Tensor actual, HostTensor expected, String what, Tolerance tol) {
        Tolerance.Comparison c = tol.compare(actual.toHost(), expected);
        System.out.println(what + ": " + c.message());
        assertTrue(c.ok(), what + ": " + c.message());
    }
}
