package dev.visiontower.conformance;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.checkpoint.SafetensorsWriter;
import dev.visiontower.api.nn.RandomWeights;
import dev.visiontower.api.nn.VisionTransformer;
import dev.visiontower.api.nn.VitConfig;
import dev.visiontower.conformance.plugin.MeanPoolVitFamily;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kit run on this repository's backends (libtorch, ONNX Runtime), every golden case, and a third-party plugin. */
class ConformanceKitTest {
    @TempDir
    Path tmp;

    /** Writes a checkpoint of the example plugin's own format: config.json + weights under its names. */
    private Path pluginCheckpoint() throws IOException {
        Path dir = tmp.resolve("meanpool-vit");
        Files.createDirectories(dir);
        String cfg = "{\"model_type\": \"meanpool_vit\", \"image_size\": 24, \"patch_size\": 6, \"width\": 40, "
                + "\"depth\": 2, \"heads\": 5, \"mlp_width\": 72}";
        Files.writeString(dir.resolve("config.json"), cfg);
        VitConfig vc = MeanPoolVitFamily.config(new ObjectMapper().readTree(cfg));
        RandomWeights w = RandomWeights.of(vc, 11);
        Map<String, HostTensor> tensors = new LinkedHashMap<>();
        for (String name : VisionTransformer.parameterShapes(vc).keySet()) {
            tensors.put("encoder." + name, w.load(name));
        }
        SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors, Map.of());
        return dir;
    }

    @Test
    void everyCheckPassesOnLibtorchAndOnnxRuntime() throws IOException {
        Path golden = Paths.get(System.getProperty("visiontower.testdata", "../testdata")).resolve("golden");
        Report report = ConformanceKit.run(new ConformanceKit.Options(List.of("libtorch", "onnx"), golden,
                List.of(pluginCheckpoint()), null));
        PrintWriter out = new PrintWriter(System.out, true);
        report.print(out);
        assertTrue(report.passed(), "conformance failures, see the matrix above");
        assertEquals(0, report.count(Outcome.SKIP), "everything can run here");
        for (String check : List.of("train.train_step_clip", "train.train_step_siglip", "dual.clip_full",
                "dual.siglip_full", "error.foreignTensor", "ownership.forwardLeavesNothing")) {
            assertTrue(report.results().stream().anyMatch(r -> r.check().equals(check) && r.backend().equals("libtorch")
                    && r.outcome() == Outcome.PASS), check + " passes on libtorch");
        }
        long perBackend = report.results().stream().filter(r -> r.backend().equals("onnx")).count();
        assertTrue(perBackend > 50, "ops, layers and models were checked: " + perBackend);
        assertTrue(report.results().stream().anyMatch(r -> r.check().equals("model.meanpool-vit")
                && r.backend().equals("onnx") && r.outcome() == Outcome.PASS
                && r.detail().startsWith("family meanpool-vit (example mean-pooling ViT)")),
                "the plugin is recognised and runs on ONNX Runtime");
        assertTrue(report.results().stream().anyMatch(r -> r.check().equals("pair.clip_vision_interp")
                && r.backend().equals("libtorch~onnx") && r.outcome() == Outcome.PASS), "backends agree");
        assertTrue(report.toJson().contains("\"summary\""));
    }

    /**
     * int8 products on both backends and bfloat16 on libtorch pass at their own tolerances: int8 within
     * {@code 0.15 + 0.15|b|} and embeddings at cosine >= 0.999, bfloat16 within {@code 5e-2 + 5e-2|b|} and 0.999.
     */
    @Test
    void int8AndBfloat16PassAtTheirTolerances() throws IOException {
        Path golden = Paths.get(System.getProperty("visiontower.testdata", "../testdata")).resolve("golden");
        for (dev.visiontower.api.DType t : new dev.visiontower.api.DType[] {dev.visiontower.api.DType.INT8,
                dev.visiontower.api.DType.BFLOAT16}) {
            List<String> backends = t == dev.visiontower.api.DType.INT8 ? List.of("libtorch", "onnx")
                    : List.of("libtorch");
            Report report = ConformanceKit.run(new ConformanceKit.Options(backends, golden, List.of(pluginCheckpoint()),
                    dev.visiontower.api.spi.BackendOptions.defaults().withDType(t)));
            PrintWriter out = new PrintWriter(System.out, true);
            out.println(t + ":");
            report.print(out);
            assertTrue(report.passed(), t + ": conformance failures, see the matrix above");
            assertEquals(0, report.count(Outcome.SKIP) + report.results().stream().filter(r -> r.outcome()
                    == Outcome.UNSUPPORTED && !r.check().startsWith("train.")).count(), t + ": everything ran (but "
                    + "training, which is float32)");
            assertTrue(report.results().stream().anyMatch(r -> r.check().equals("model.clip_vision")
                    && r.outcome() == Outcome.PASS), t + ": whole models were checked");
        }
    }

    @Test
    void unavailableBackendIsSkippedWithItsReasonNotPassed() {
        Report report = ConformanceKit.run(new ConformanceKit.Options(List.of("nosuch"), null, List.of(), null));
        assertEquals(1, report.results().size());
        CheckResult r = report.results().get(0);
        assertEquals(Outcome.SKIP, r.outcome());
        assertTrue(r.detail().contains("no provider named 'nosuch'"), r.detail());
        assertEquals(0, report.count(Outcome.PASS));
    }
}
