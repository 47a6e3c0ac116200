package dev.visiontower.api;

import java.nio.file.Path;
import java.util.Map;

/**
 * Writing a traced computation as a standalone graph file (ONNX), for backends that record graphs
 * ({@link dev.visiontower.api.spi.Capability#GRAPH_COMPILATION}). Obtain it with {@link Backend#graphExport()}:
 * create placeholders, run the model on them as usual, then export the outputs.
 */
public interface GraphExport {

    /**
     * An input of the exported graph. A dimension given as -1 becomes a dynamic axis named {@code dynamicAxis}; while
     * tracing it reads as a large placeholder size (it is never materialised: placeholders have no values).
     */
    Tensor placeholder(String name, DType dtype, String dynamicAxis, long... shape);

    /**
     * Writes a file computing {@code outputs} (graph output name to traced tensor) from the placeholders, with the
     * weights stored in the file (or beside it, {@code <file>.data}, when they exceed what one file may hold).
     *
     * @param opset the ai.onnx opset to stamp (at least the backend's minimum)
     */
    void export(Map<String, Tensor> outputs, Path file, int opset);
}
