package dev.visiontower.api;

import dev.visiontower.api.nn.LayerFactory;
import dev.visiontower.api.spi.Capability;

import java.util.Set;

/**
 * One instance of a numeric engine bound to one device: it creates tensors, supplies {@link Ops} and may substitute
 * fused layers through {@link #layers()}. Obtain one with {@link Backends#open(String, Device)}. Several backends may
 * live in one JVM at the same time (there is no process-global switch), which is how parity between them is checked.
 *
 * <p>Thread-safety: a backend may be used from several threads; each thread has its own scope stack.
 */
public interface Backend extends AutoCloseable {

    /** The provider name, e.g. {@code libtorch}. */
    String name();

    Device device();

    /** The floating-point type this backend computes in (see {@link dev.visiontower.api.spi.BackendOptions}). */
    DType dtype();

    Set<Capability> capabilities();

    default boolean has(Capability c) {
        return capabilities().contains(c);
    }

    /**
     * The tolerance this backend's results are held to against the float64 reference: its compute dtype's, or a
     * looser one when it computes matrix products in a reduced precision (e.g. TF32 for float32 tensors).
     */
    default Tolerance tolerance() {
        return Tolerance.forDType(dtype());
    }

    /** One line naming the engine, device and precision, for logs and benchmark reports. */
    default String description() {
        return name() + " on " + device() + " (" + dtype() + ")";
    }

    /**
     * The device's dense peak rate in TFLOP/s for the precision this backend's matrix products run in, when known
     * (benchmarks report their fraction of it).
     */
    default java.util.OptionalDouble peakTflops() {
        return java.util.OptionalDouble.empty();
    }

    /**
     * Rows per forward pass that bulk jobs (Spark's transformers, when not told) use: enough for the device's
     * throughput without holding more activations than that needs. The default is 16 on a CPU, whose rate per image
     * changes little with the batch size once the products are large (a ViT-B/16 pass already is at batch 1), and
     * 64 on a GPU, which needs many rows to fill its multiprocessors. A backend may know better and override it.
     */
    default int preferredBatchSize() {
        return device().kind() == Device.Kind.CUDA ? 64 : 16;
    }

    /** The operations. */
    Ops ops();

    /**
     * Builds the layers of the shared container. The default builds them from {@link #ops()}; a backend may return
     * a factory that substitutes fused implementations below the same parameter names.
     */
    default LayerFactory layers() {
        return LayerFactory.DEFAULT;
    }

    /**
     * Gradients, when the backend trains.
     *
     * @throws UnsupportedCapabilityException when it does not ({@link Capability#TRAINING} absent)
     */
    default Autograd autograd() {
        throw new UnsupportedCapabilityException(name(), Capability.TRAINING, "training (gradients)");
    }

    /**
     * Graph export, when the backend records graphs.
     *
     * @throws UnsupportedCapabilityException when it does not ({@link Capability#GRAPH_COMPILATION} absent)
     */
    default GraphExport graphExport() {
        throw new UnsupportedCapabilityException(name(), Capability.GRAPH_COMPILATION, "graph export");
    }

    /** Copies a host tensor to the backend; the result is registered in the current scope. */
    Tensor fromHost(HostTensor host);

    /**
     * Creates a long-lived tensor for a model weight. It is never registered in a scope: the model that holds it
     * closes it. Backends that compile graphs treat these as constants (initializers).
     *
     * @param name the canonical parameter name (for messages and graph initializer names)
     */
    Tensor parameter(String name, HostTensor host);

    /** Opens a scope on the current thread; see {@link TensorScope}. */
    TensorScope newScope();

    /** Number of tensors of this backend that are currently open (created and not yet closed). */
    long liveTensors();

    /** Releases the backend's own resources (tensors still open stay valid until closed). Idempotent. */
    @Override
    void close();
}
