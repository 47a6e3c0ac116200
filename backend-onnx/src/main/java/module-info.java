/**
 * The ONNX Runtime backend ({@code onnx}). Operations are not executed one by one: each call records an ONNX node;
 * when a result is read ({@link dev.visiontower.api.Tensor#toHost()}), every pending result is computed by one
 * {@code OrtSession} built from the recorded graph (weights as initializers, inputs fed from the caller's data) and
 * cached by the graph's structure and shapes, so the same model on the same input shape compiles once.
 *
 * <h2>System properties</h2>
 * <ul>
 *   <li>{@code visiontower.onnx.threads}: intra-op threads when the caller passes 0 (default: ONNX Runtime's).</li>
 *   <li>{@code visiontower.onnx.cacheSize}: compiled sessions kept per backend (default 8, least recently used
 *       evicted).</li>
 * </ul>
 */
module dev.visiontower.backend.onnx {
    requires dev.visiontower.api;
    requires com.microsoft.onnxruntime;
    requires com.sun.jna;
    requires static com.google.auto.service;

    exports dev.visiontower.backend.onnx;
    exports dev.visiontower.backend.onnx.internal to com.sun.jna;

    provides dev.visiontower.api.spi.BackendProvider with dev.visiontower.backend.onnx.OrtBackendProvider;
}
