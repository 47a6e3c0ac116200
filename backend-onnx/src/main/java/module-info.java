/**
 * The ONNX Runtime backend ({@code onnx}). Operations are not executed one by one: each call records an ONNX node;
 * when a result is read ({@link dev.visiontower.api.Tensor#toHost()}), every pending result is computed by one
 * {@code OrtSession} built from the recorded graph (weights as initializers, inputs fed from the caller's data) and
 * cached by the graph's structure and shapes, so the same model on the same input shape compiles once.
 *
 * <p>Transformer blocks are recorded with ONNX Runtime's own operators (domain {@code com.microsoft}):
 * MultiHeadAttention on one q/k/v product, SkipLayerNormalization for each residual add and the norm after it (across
 * blocks too), BiasGelu / FastGelu / QuickGelu. With compute type int8 every product of a model weight is a
 * DynamicQuantizeMatMul on int8 weights quantised per output channel (7-bit on CPUs without VNNI, where u8 x s8
 * products could saturate); activations are quantised per call, everything else stays float32.
 *
 * <h2>Options ({@code --option KEY=VALUE})</h2>
 * <ul>
 *   <li>{@code fusions=all|none|attention,skip_layer_norm,bias_gelu} (default all): which of those operators the
 *       blocks use; {@code export-onnx} writes {@code none} (standard ONNX operators, readable by other
 *       runtimes).</li>
 *   <li>{@code spin=true|false} (default false): whether ONNX Runtime's intra-op threads busy-wait between
 *       operators. Off, they never compete with another engine's pool in the same process; measured the same speed
 *       on ViT-B/16 here.</li>
 * </ul>
 *
 * <h2>System properties</h2>
 * <ul>
 *   <li>{@code visiontower.onnx.threads}: intra-op threads when the caller passes 0 (default: every core).</li>
 *   <li>{@code visiontower.onnx.cacheSize}: compiled sessions kept per backend (default 8, least recently used
 *       evicted).</li>
 *   <li>{@code visiontower.onnx.optimizedModelDir}: a folder that receives each compiled graph as ONNX Runtime
 *       optimised it, for study.</li>
 *   <li>{@code visiontower.onnx.profile}: a file prefix; each session writes ONNX Runtime's per-operator profile
 *       (JSON) when it is closed.</li>
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
