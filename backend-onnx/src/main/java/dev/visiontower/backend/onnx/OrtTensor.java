package dev.visiontower.backend.onnx;

import dev.visiontower.api.Backend;
import dev.visiontower.api.DType;
import dev.visiontower.api.HostTensor;
import dev.visiontower.api.spi.AbstractTensor;
import dev.visiontower.api.spi.TensorRegistry;

import java.util.List;

/**
 * A value of the recorded graph: a leaf (the caller's data, a weight, a constant) or the output of a node. Reading it
 * runs the pending graph; afterwards it holds its values and becomes a leaf itself.
 */
final class OrtTensor extends AbstractTensor {
    /** How a leaf enters a compiled graph. */
    enum Kind { INPUT, PARAMETER, CONSTANT, COMPUTED }

    final OrtBackend backend;
    final long id;
    final Kind kind;
    /** Parameter name or placeholder name ({@code null} otherwise). */
    final String label;
    volatile Node producer;
    volatile HostTensor value;
    /** The weight shared with every session (parameters only), created on first use. */
    ai.onnxruntime.OnnxTensor shared;

    /**
     * Node input standing for an initializer computed from parameters once and kept with {@code owner}: a transpose,
     * a concatenation of several weights, an int8 quantisation. {@code key} names it among the owner's (equal keys
     * must mean equal values); {@code make} computes its values (again when a graph is exported).
     */
    record Derived(OrtTensor owner, String key, java.util.function.Supplier<HostTensor> make) {
        HostTensor value() {
            return make.get();
        }
    }

    /** The native copy of a derived initializer, made once and shared by every session; closed with this tensor. */
    ai.onnxruntime.OnnxTensor derivedShared(Derived d, ai.onnxruntime.OrtEnvironment env) {
        return derived(d.key(), ai.onnxruntime.OnnxTensor.class, () -> {
            try {
                return OnnxGraph.nativeTensor(env, d.value());
            } catch (ai.onnxruntime.OrtException e) {
                throw new dev.visiontower.api.VisionTowerException("onnx: preparing weight '" + label + "' failed: "
                        + e.getMessage(), e);
            }
        }, held -> false);
    }

    /**
     * A node of the recorded graph.
     *
     * @param inputs each an {@link OrtTensor}, a constant {@link HostTensor}, or null for an omitted optional input
     */
    record Node(String op, String domain, int outputs, List<Object> inputs, Protobuf attributes) {
        Node(String op, List<Object> inputs, Protobuf attributes) {
            this(op, "", 1, inputs, attributes);
        }
    }

    /** Which output of its producer this tensor is (0 for single-output nodes). */
    int outputIndex;

    OrtTensor(OrtBackend backend, TensorRegistry registry, long id, Kind kind, String label, long[] shape, DType dtype,
              HostTensor value, Node producer, boolean scoped) {
        super(registry, shape, dtype, scoped);
        this.backend = backend;
        this.id = id;
        this.kind = kind;
        this.label = label;
        this.value = value;
        this.producer = producer;
    }

    /** Shape without the open check: a pending graph may still need a tensor its owner has closed. */
    long[] dims() {
        return rawShape();
    }

    DType type() {
        return rawDType();
    }

    /** A leaf of any graph: it has values, or it is an export placeholder (an input without values). */
    boolean isLeaf() {
        return value != null || producer == null;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public HostTensor toHost() {
        checkOpen();
        if (value == null) {
            if (producer == null) {
                throw new IllegalStateException("'" + label + "' is an export placeholder: it has no values");
            }
            backend.flush(this);
        }
        return value;
    }

    /**
     * Closing only withdraws the tensor from the caller: the graph keeps what pending results still need (memory is
     * reclaimed when nothing refers to it), and a parameter's native copy is released now.
     */
    @Override
    protected void release() {
        backend.released(this);
        synchronized (this) {
            if (shared != null) {
                shared.close();
                shared = null;
            }
        }
    }
}
