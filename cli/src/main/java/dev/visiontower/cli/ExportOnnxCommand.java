package dev.visiontower.cli;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DualEncoder;
import dev.visiontower.api.Backends;
import dev.visiontower.api.DType;
import dev.visiontower.api.GraphExport;
import dev.visiontower.api.Tensor;
import dev.visiontower.api.TensorScope;
import dev.visiontower.api.nn.ForwardOptions;
import dev.visiontower.api.nn.TextModel;
import dev.visiontower.api.nn.TextOutput;
import dev.visiontower.api.nn.VisionOutput;
import dev.visiontower.api.spi.BackendOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code visiontower export-onnx}: the towers as a standalone ONNX file. */
@Command(name = "export-onnx", mixinStandardHelpOptions = true,
        description = "Write the vision tower (and with --text the text tower) as a standalone ONNX file with a dynamic "
                + "batch axis: pixel_values -> last_hidden_state, pooler_output, image_embeds; input_ids -> "
                + "text_embeds, text_pooler_output, text_last_hidden_state.")
final class ExportOnnxCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "Model directory. Default: the bundled sample model.")
    Path model;

    @Option(names = "--output", required = true, paramLabel = "FILE.onnx", description = "Output file.")
    Path output;

    @Option(names = "--opset", paramLabel = "N", defaultValue = "20", description = "ai.onnx opset, 20 to 26 (default: ${DEFAULT-VALUE}).")
    int opset;

    @Option(names = "--text", description = "Also export the text tower.")
    boolean text;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "float32",
            description = "float32 (standard ONNX operators only), or int8: every product of a model weight as ONNX "
                    + "Runtime's DynamicQuantizeMatMul on int8 weights quantised per output channel, activations "
                    + "quantised per call (default: ${DEFAULT-VALUE}).")
    String dtype;

    @Mixin
    VerboseOption verbose;

    @Override
    public Integer call() throws Exception {
        CommonOptions common = new CommonOptions();
        common.model = model;
        Path dir = common.modelDir();
        DType type = DType.parse(dtype);
        if (type != DType.FLOAT32 && type != DType.INT8) {
            throw new dev.visiontower.api.InvalidInputException("export-onnx --dtype must be float32 or int8, got "
                    + dtype);
        }
        // the blocks as standard operators: ONNX Runtime fuses them itself when it loads the file, other runtimes
        // read it too
        BackendOptions options = new BackendOptions(dev.visiontower.api.Device.CPU, type, 0, Map.of("fusions", "none"));
        try (Backend onnx = Backends.open("onnx", options);
             DualEncoder m = DualEncoder.open(dir, onnx);
             TensorScope scope = onnx.newScope()) {
            GraphExport export = onnx.graphExport();
            int size = m.vision().imageSize();
            Tensor pixels = export.placeholder("pixel_values", DType.FLOAT32, "batch", -1, 3, size, size);
            VisionOutput v = m.vision().forward(pixels, ForwardOptions.DEFAULT);
            Map<String, Tensor> outputs = new LinkedHashMap<>();
            outputs.put("last_hidden_state", v.lastHiddenState());
            if (v.poolerOutput() != null) {
                outputs.put("pooler_output", v.poolerOutput());
            }
            if (v.imageEmbeds() != null) {
                outputs.put("image_embeds", v.imageEmbeds());
            }
            if (text) {
                TextModel t = m.text();
                Tensor ids = export.placeholder("input_ids", DType.INT64, "text_batch", -1, t.contextLength());
                TextOutput to = t.forward(ids, null, false);
                outputs.put("text_last_hidden_state", to.lastHiddenState());
                outputs.put("text_pooler_output", to.pooled());
                if (to.textEmbeds() != null) {
                    outputs.put("text_embeds", to.textEmbeds());
                }
            }
            export.export(outputs, output, opset);
            spec.commandLine().getErr().println("wrote " + output + " (" + type + ", " + Files.size(output)
                    + " bytes; inputs "
                    + (text ? "pixel_values, input_ids" : "pixel_values") + "; outputs " + outputs.keySet() + ")");
        }
        return 0;
    }
}
