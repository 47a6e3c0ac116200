package dev.visiontower.cli;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.Tolerance;
import dev.visiontower.api.checkpoint.Safetensors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The exported file, loaded by ONNX Runtime directly (no visiontower code), reproduces the reference outputs. */
class ExportOnnxTest {
    @TempDir
    Path tmp;

    static HostTensor run(OrtSession s, OrtEnvironment env, String output, Map<String, HostTensor> feeds) throws Exception {
        Map<String, OnnxTensor> in = new HashMap<>();
        try {
            for (Map.Entry<String, HostTensor> e : feeds.entrySet()) {
                HostTensor h = e.getValue();
                in.put(e.getKey(), h.dtype() == dev.visiontower.api.DType.INT64
                        ? OnnxTensor.createTensor(env, LongBuffer.wrap(h.longs()), h.shape())
                        : OnnxTensor.createTensor(env, FloatBuffer.wrap(h.floats()), h.shape()));
            }
            try (OrtSession.Result r = s.run(in, java.util.Set.of(output))) {
                OnnxTensor t = (OnnxTensor) r.get(output).orElseThrow();
                FloatBuffer b = t.getFloatBuffer();
                float[] v = new float[b.remaining()];
                b.get(v);
                return HostTensor.ofFloats(v, t.getInfo().getShape());
            }
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
    }

    static void check(HostTensor got, HostTensor want, String what) {
        Tolerance.Comparison c = Tolerance.FLOAT32.compare(got, want);
        assertTrue(c.ok(), what + ": " + c.message());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "clip_full, vision., image_features, text_features, true",
        "siglip_full, vision., '', text.pooler_output, false",
        "internvit_6b, '', '', '', false",
    })
    void exportedModelRunsInOnnxRuntimeAtAnyBatch(String c, String prefix, String imageKey, String textKey,
                                                  boolean textMaskFree) throws Exception {
        Path file = tmp.resolve(c + ".onnx");
        boolean text = !textKey.isEmpty();
        CliTest.Result r = text
                ? CliTest.run("export-onnx", "--model", CliTest.golden(c).toString(), "--text", "--output", file.toString())
                : CliTest.run("export-onnx", "--model", CliTest.golden(c).toString(), "--output", file.toString());
        assertEquals(0, r.code(), r.err());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(file.toString(), new OrtSession.SessionOptions());
             Safetensors io = Safetensors.open(CliTest.golden(c).resolve("io.safetensors"))) {
            // a dual-encoder export takes both inputs on every run (ONNX Runtime executes the whole graph);
            // the two batch axes are independent
            HostTensor px = io.read("pixel_values");
            HostTensor ids = text ? io.read("input_ids") : null;
            Map<String, HostTensor> all = text ? Map.of("pixel_values", px, "input_ids", ids) : Map.of("pixel_values", px);
            Map<String, HostTensor> small = text ? Map.of("pixel_values", px.slice0(1, 1), "input_ids", ids.slice0(0, 2))
                    : Map.of("pixel_values", px.slice0(1, 1));
            check(run(s, env, "last_hidden_state", all), io.read(prefix + "last_hidden_state"), c + " last_hidden_state");
            check(run(s, env, "pooler_output", small), io.read(prefix + "pooler_output").slice0(1, 1),
                    c + " pooler_output, batch 1");
            if (!imageKey.isEmpty()) {
                check(run(s, env, "image_embeds", all), io.read(imageKey), c + " " + imageKey);
            }
            if (text) {
                check(run(s, env, "text_embeds", all), io.read(textKey), c + " " + textKey);
                check(run(s, env, "text_embeds", small), io.read(textKey).slice0(0, 2), c + " " + textKey + ", batch 2");
            }
        }
    }

    /**
     * {@code --dtype int8}: a smaller file whose products are ONNX Runtime's DynamicQuantizeMatMul on int8 weights,
     * run by ONNX Runtime alone, embeddings within the int8 tolerance and at cosine >= 0.999 to the reference.
     */
    @org.junit.jupiter.api.Test
    void int8ExportCarriesQuantisedWeights() throws Exception {
        String c = "clip_vision";
        Path f32 = tmp.resolve("f32.onnx");
        Path i8 = tmp.resolve("int8.onnx");
        assertEquals(0, CliTest.run("export-onnx", "--model", CliTest.golden(c).toString(), "--output",
                f32.toString()).code());
        CliTest.Result r = CliTest.run("export-onnx", "--model", CliTest.golden(c).toString(), "--dtype", "int8",
                "--output", i8.toString());
        assertEquals(0, r.code(), r.err());
        byte[] model = java.nio.file.Files.readAllBytes(i8);
        assertTrue(new String(model, java.nio.charset.StandardCharsets.ISO_8859_1).contains("DynamicQuantizeMatMul"),
                "the graph quantises its products");
        assertTrue(model.length < java.nio.file.Files.size(f32), "int8 weights make a smaller file: " + model.length
                + " vs " + java.nio.file.Files.size(f32));
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession s = env.createSession(i8.toString(), new OrtSession.SessionOptions());
             Safetensors io = Safetensors.open(CliTest.golden(c).resolve("io.safetensors"))) {
            HostTensor got = run(s, env, "image_embeds", Map.of("pixel_values", io.read("pixel_values")));
            Tolerance.Comparison cmp = Tolerance.INT8.compare(got, io.read("image_embeds"));
            assertTrue(cmp.ok() && cmp.cosine() >= Tolerance.INT8_MIN_COSINE, cmp.message());
        }
        assertTrue(CliTest.run("export-onnx", "--model", CliTest.golden(c).toString(), "--dtype", "bfloat16",
                "--output", tmp.resolve("x.onnx").toString()).err().contains("float32 or int8"));
    }
}
