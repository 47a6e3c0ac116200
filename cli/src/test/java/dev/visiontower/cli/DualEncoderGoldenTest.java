package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.Backends;
import dev.visiontower.api.Device;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Models;
import dev.visiontower.api.Ops;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.checkpoint.Checkpoint;
import dev.visiontower.api.checkpoint.Safetensors;
import dev.visiontower.api.nn.ContrastiveHead;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.TextModel;
import dev.visiontower.api.nn.TextOutput;
import dev.visiontower.api.nn.VisionModel;
import dev.visiontower.api.spi.LoadOptions;
import dev.visiontower.api.spi.ModelDefinition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static dev.visiontower.api.Tolerance.FLOAT32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Text towers, logits and the family losses of the dual-encoder golden cases, float32 at 1e-4 + 1e-4*|b|. */
class DualEncoderGoldenTest {
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
        // case, uses attention mask, io key of the projected text feature, io key compared with our pooled state
        "clip_full, true, text_features, text.pooler_output",
        "openclip_clip, false, text_features, text.pooler_output",
        "siglip_full, false, text.pooler_output, ''",
    })
    void textTowerLogitsAndLossMatch(String caseName, boolean mask, String featuresKey, String pooledKey) {
        textTowerLogitsAndLossMatch(torch, caseName, mask, featuresKey, pooledKey);
        textTowerLogitsAndLossMatch(onnx, caseName, mask, featuresKey, pooledKey);
    }

    private void textTowerLogitsAndLossMatch(Backend backend, String caseName, boolean mask, String featuresKey,
                                             String pooledKey) {
        Path dir = CliTest.golden(caseName);
        long before = backend.liveTensors();
        try (Checkpoint ckpt = Checkpoint.open(dir);
             Safetensors io = Safetensors.open(dir.resolve("io.safetensors"))) {
            ModelDefinition family = Models.detect(ckpt).definition();
            try (TextModel text = family.loadText(ckpt, backend, LoadOptions.STRICT).orElseThrow();
                 VisionModel vision = family.loadVision(ckpt, backend, LoadOptions.STRICT);
                 ContrastiveHead head = family.loadHead(ckpt, backend).orElseThrow();
                 TensorScope scope = backend.newScope()) {
                Ops ops = backend.ops();
                caseName = caseName + " [" + backend.name() + "]";
                Tensor ids = backend.fromHost(io.read("input_ids"));
                Tensor am = mask ? backend.fromHost(io.read("attention_mask")) : null;
                TextOutput t = text.forward(ids, am, true);
                for (int n = 0; io.contains("text.hidden_states." + n); n++) {
                    check(t.hiddenStates().get(n), io.read("text.hidden_states." + n), caseName + " text.hidden_states." + n);
                }
                check(t.lastHiddenState(), io.read("text.last_hidden_state"), caseName + " text.last_hidden_state");
                if (!pooledKey.isEmpty()) {
                    check(t.pooled(), io.read(pooledKey), caseName + " " + pooledKey);
                }
                check(t.textEmbeds(), io.read(featuresKey), caseName + " " + featuresKey);

                Tensor img = ops.l2Normalize(vision.forward(backend.fromHost(io.read("pixel_values")),
                        ForwardOptions.DEFAULT).embedding(), -1, 1e-12);
                Tensor txt = ops.l2Normalize(t.textEmbeds(), -1, 1e-12);
                check(img, io.read("image_embeds"), caseName + " image_embeds");
                check(txt, io.read("text_embeds"), caseName + " text_embeds");
                Tensor logits = head.logitsPerImage(img, txt);
                check(logits, io.read("logits_per_image"), caseName + " logits_per_image");
                check(ops.permute(logits, 1, 0), io.read("logits_per_text"), caseName + " logits_per_text");
                check(head.loss(img, txt), io.read("loss"), caseName + " loss");
            }
        }
        assertEquals(before, backend.liveTensors(), "everything released");
    }

    static void check(Tensor actual, HostTensor expected, String what) {
        var c = FLOAT32.compare(actual.toHost(), expected);
        System.out.println(what + ": " + c.message());
        assertTrue(c.ok(), what + ": " + c.message());
    }
}
