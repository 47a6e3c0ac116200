package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Models;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.spi.BackendOptions;
import dev.visiontower.api.spi.LoadOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every vision golden case, found and loaded the way a user's code does (family detection through ServiceLoader),
 * against the reference outputs: float32 at {@code 1e-4 + 1e-4*|b|} on every output and every hidden state, and
 * bfloat16 at the bfloat16 tolerance.
 */
class VisionGoldenTest {
    private static Backend torch;
    private static Backend onnx;

    @BeforeAll
    static void open() {
        torch = Backends.open("libtorch", Device.CPU);
        onnx = Backends.open("onnx", Device.CPU);
    }

    @AfterAll
    static void close() {
        torch.close();
        onnx.close();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        // case, io prefix, projected key ('' = none), interpolate, family, format
        "clip_vision, '', image_embeds, false, clip, Hugging Face CLIPVisionModelWithProjection",
        "clip_vision_interp, '', image_embeds, true, clip, Hugging Face CLIPVisionModelWithProjection",
        "openclip_clip, 'vision.', image_features, false, clip, OpenAI / open_clip",
        "clip_full, 'vision.', image_features, false, clip, Hugging Face CLIPModel",
        "siglip_vision, '', '', false, siglip, Hugging Face SiglipVisionModel",
        "siglip_vision_interp, '', '', true, siglip, Hugging Face SiglipVisionModel",
        "siglip_full, 'vision.', '', false, siglip, Hugging Face SiglipModel",
        "internvit_300m, '', '', false, internvit, OpenGVLab InternVisionModel",
        "internvit_6b, '', '', false, internvit, OpenGVLab InternVisionModel",
    })
    void float32MatchesTheReference(String caseName, String prefix, String embedsKey, boolean interpolate,
                                    String family, String format) {
        for (Backend backend : new Backend[] {torch, onnx}) {
            float32MatchesTheReference(backend, caseName, prefix, embedsKey, interpolate, family, format);
        }
    }

    private void float32MatchesTheReference(Backend backend, String caseName, String prefix, String embedsKey,
                                            boolean interpolate, String family, String format) {
        Path dir = CliTest.golden(caseName);
        String label = caseName + " [" + backend.name() + "]";
        long before = backend.liveTensors();
        try (Checkpoint ckpt = Checkpoint.open(dir);
             Safetensors io = Safetensors.open(dir.resolve("io.safetensors"))) {
            Models.Match m = Models.detect(ckpt);
            assertEquals(family, m.family().name());
            assertEquals(format, m.format());
            try (VisionModel model = m.definition().loadVision(ckpt, backend, LoadOptions.STRICT)) {
                long params = backend.liveTensors() - before;
                try (Tensor pixels = backend.fromHost(io.read("pixel_values"));
                     VisionOutput out = model.forward(pixels, new ForwardOptions(interpolate, true))) {
                    check(out.lastHiddenState(), io.read(prefix + "last_hidden_state"), label + " last_hidden_state",
                            Tolerance.FLOAT32);
                    check(out.poolerOutput(), io.read(prefix + "pooler_output"), label + " pooler_output",
                            Tolerance.FLOAT32);
                    if (!embedsKey.isEmpty()) {
                        assertNotNull(out.imageEmbeds());
                        check(out.imageEmbeds(), io.read(embedsKey), label + " " + embedsKey, Tolerance.FLOAT32);
                    }
                    int n = 0;
                    while (io.contains(prefix + "hidden_states." + n)) {
                        check(out.hiddenStates().get(n), io.read(prefix + "hidden_states." + n),
                                label + " hidden_states." + n, Tolerance.FLOAT32);
                        n++;
                    }
                    assertTrue(n == 0 || n == out.hiddenStates().size(), "number of hidden states");
                }
                // the forward pass leaves nothing behind but the weights
                assertEquals(params, backend.liveTensors() - before, "live tensors after closing the outputs");
            }
        }
        assertEquals(before, backend.liveTensors(), "live tensors after closing the model");
    }

    @ParameterizedTest(name = "{0} bf16")
    @CsvSource({
        "clip_vision, '', false",
        "clip_vision_interp, '', true",
        "openclip_clip, 'vision.', false",
        "clip_full, 'vision.', false",
        "siglip_vision, '', false",
        "siglip_vision_interp, '', true",
        "siglip_full, 'vision.', false",
        "internvit_300m, '', false",
        "internvit_6b, '', false",
    })
    void bfloat16StaysWithinItsTolerance(String caseName, String prefix, boolean interpolate) {
        Path dir = CliTest.golden(caseName);
        try (Backend bf16 = Backends.open("libtorch", BackendOptions.defaults().withDType(DType.BFLOAT16));
             Checkpoint ckpt = Checkpoint.open(dir);
             Safetensors io = Safetensors.open(dir.resolve("io.safetensors"));
             VisionModel model = Models.detect(ckpt).definition().loadVision(ckpt, bf16, LoadOptions.STRICT);
             TensorScope scope = bf16.newScope()) {
            VisionOutput out = model.forward(bf16.fromHost(io.read("pixel_values")), new ForwardOptions(interpolate, false));
            assertEquals(DType.BFLOAT16, out.lastHiddenState().dtype());
            check(out.lastHiddenState(), io.read(prefix + "last_hidden_state"), caseName + " bf16 last_hidden_state",
                    Tolerance.BFLOAT16);
            check(out.poolerOutput(), io.read(prefix + "pooler_output"), caseName + " bf16 pooler_output",
                    Tolerance.BFLOAT16);
        }
    }

    /**
     * int8 products (libtorch through oneDNN, onnx through DynamicQuantizeMatMul) on every vision case: the pooled
     * output and the projected embeddings within {@link Tolerance#INT8} and with a cosine of at least
     * {@link Tolerance#INT8_MIN_COSINE} to the float32 reference, per image; the last hidden state within the int8
     * tolerance.
     */
    @ParameterizedTest(name = "{0} int8")
    @CsvSource({
        "clip_vision, '', image_embeds, false",
        "clip_vision_interp, '', image_embeds, true",
        "openclip_clip, 'vision.', image_features, false",
        "clip_full, 'vision.', image_features, false",
        "siglip_vision, '', '', false",
        "siglip_vision_interp, '', '', true",
        "siglip_full, 'vision.', '', false",
        "internvit_300m, '', '', false",
        "internvit_6b, '', '', false",
    })
    void int8KeepsTheEmbeddingsDirection(String caseName, String prefix, String embedsKey, boolean interpolate) {
        Path dir = CliTest.golden(caseName);
        for (String name : new String[] {"libtorch", "onnx"}) {
            try (Backend int8 = Backends.open(name, BackendOptions.defaults().withDType(DType.INT8));
                 Checkpoint ckpt = Checkpoint.open(dir);
                 Safetensors io = Safetensors.open(dir.resolve("io.safetensors"));
                 VisionModel model = Models.detect(ckpt).definition().loadVision(ckpt, int8, LoadOptions.STRICT);
                 TensorScope scope = int8.newScope()) {
                assertEquals(DType.INT8, int8.dtype());
                VisionOutput out = model.forward(int8.fromHost(io.read("pixel_values")),
                        new ForwardOptions(interpolate, false));
                String label = caseName + " int8 [" + name + "]";
                check(out.lastHiddenState(), io.read(prefix + "last_hidden_state"), label + " last_hidden_state",
                        Tolerance.INT8);
                checkDirection(out.poolerOutput().toHost(), io.read(prefix + "pooler_output"), label
                        + " pooler_output");
                if (!embedsKey.isEmpty()) {
                    checkDirection(out.imageEmbeds().toHost(), io.read(embedsKey), label + " " + embedsKey);
                }
            }
        }
    }

    /** Within the int8 tolerance, and each row's cosine to the reference at least the int8 minimum. */
    private static void checkDirection(HostTensor got, HostTensor want, String what) {
        Tolerance.Comparison c = Tolerance.INT8.compare(got, want);
        long rows = got.dim(0);
        int width = (int) (got.numel() / rows);
        float[] a = got.toFloatArray();
        float[] b = want.toFloatArray();
        double worst = 1;
        for (int r = 0; r < rows; r++) {
            double dot = 0;
            double na = 0;
            double nb = 0;
            for (int i = r * width; i < (r + 1) * width; i++) {
                dot += (double) a[i] * b[i];
                na += (double) a[i] * a[i];
                nb += (double) b[i] * b[i];
            }
            worst = Math.min(worst, dot / Math.sqrt(na * nb));
        }
        System.out.printf(java.util.Locale.ROOT, "%s: %s; lowest per-image cosine %.6f%n", what, c.message(), worst);
        assertTrue(c.ok(), what + ": " + c.message());
        assertTrue(worst >= Tolerance.INT8_MIN_COSINE, what + ": per-image cosine " + worst + " < "
                + Tolerance.INT8_MIN_COSINE);
    }

    static void check(Tensor actual, HostTensor expected, String what, Tolerance tol) {
        Tolerance.Comparison c = tol.compare(actual.toHost(), expected);
        System.out.println(what + ": " + c.message());
        assertTrue(c.ok(), what + ": " + c.message());
    }
}
