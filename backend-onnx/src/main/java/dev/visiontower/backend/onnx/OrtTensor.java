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
    /** A 2-D parameter's transpose (host values and the shared native copy), made on first use by a product. */
    HostTensor transposedValue;
    ai.onnxruntime.OnnxTensor sharedTransposed;

    /** Node input standing for the transpose of a 2-D parameter. */
    record Transposed(OrtTensor of) {
    }

    /** The transpose's values, computed once. */
    synchronized HostTensor transposedValue() {
        if (transposedValue == null) {
            long[] s = dims();
            float[] in = value.floats();
            float[] out = new float[in.length];
            int rows = (int) s[0];
            int cols = (int) s[1];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    out[j * rows + i] = in[i * cols + j];
                }
            }
            transposedValue = HostTensor.ofFloats(out, cols, rows);
        }
        return transposedValue;
    }

    /**
     * A node of the recorded graph.
     *
     * @param inputs each an {@link OrtTensor}, a constant {@link HostTensor}, or null for an omitted optional input
     */
    record Node(String op, List<Object> inputs, Protobuf attributes) {
    }

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
            if (sharedTransposed != null) {
                sharedTransposed.close();
                sharedTransposed = null;
            }
        }
    }
}
